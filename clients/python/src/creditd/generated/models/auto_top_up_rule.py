from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.pool import Pool
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.top_up_cap import TopUpCap





T = TypeVar("T", bound="AutoTopUpRule")



@_attrs_define
class AutoTopUpRule:
    """ An organisation's auto top-up rule (`PUT …/auto-top-up`).

        Attributes:
            threshold (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            amount (Union[None, Unset, float, str]):
            enabled (Union[Unset, bool]): Whether top-ups are requested (default true).
            max_per_period (Union['TopUpCap', None, Unset]):
            pause_after_failures (Union[Unset, int]): Consecutive failed top-ups after which auto top-up pauses (1–100,
                default 3).
            pool (Union[Unset, Pool]): A balance type: where credits live.
            target_balance (Union[None, Unset, float, str]):
     """

    threshold: Union[float, str]
    amount: Union[None, Unset, float, str] = UNSET
    enabled: Union[Unset, bool] = UNSET
    max_per_period: Union['TopUpCap', None, Unset] = UNSET
    pause_after_failures: Union[Unset, int] = UNSET
    pool: Union[Unset, Pool] = UNSET
    target_balance: Union[None, Unset, float, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.top_up_cap import TopUpCap
        threshold: Union[float, str]
        threshold = self.threshold

        amount: Union[None, Unset, float, str]
        if isinstance(self.amount, Unset):
            amount = UNSET
        else:
            amount = self.amount

        enabled = self.enabled

        max_per_period: Union[None, Unset, dict[str, Any]]
        if isinstance(self.max_per_period, Unset):
            max_per_period = UNSET
        elif isinstance(self.max_per_period, TopUpCap):
            max_per_period = self.max_per_period.to_dict()
        else:
            max_per_period = self.max_per_period

        pause_after_failures = self.pause_after_failures

        pool: Union[Unset, str] = UNSET
        if not isinstance(self.pool, Unset):
            pool = self.pool.value


        target_balance: Union[None, Unset, float, str]
        if isinstance(self.target_balance, Unset):
            target_balance = UNSET
        else:
            target_balance = self.target_balance


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "threshold": threshold,
        })
        if amount is not UNSET:
            field_dict["amount"] = amount
        if enabled is not UNSET:
            field_dict["enabled"] = enabled
        if max_per_period is not UNSET:
            field_dict["max_per_period"] = max_per_period
        if pause_after_failures is not UNSET:
            field_dict["pause_after_failures"] = pause_after_failures
        if pool is not UNSET:
            field_dict["pool"] = pool
        if target_balance is not UNSET:
            field_dict["target_balance"] = target_balance

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.top_up_cap import TopUpCap
        d = dict(src_dict)
        def _parse_threshold(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        threshold = _parse_threshold(d.pop("threshold"))


        def _parse_amount(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        amount = _parse_amount(d.pop("amount", UNSET))


        enabled = d.pop("enabled", UNSET)

        def _parse_max_per_period(data: object) -> Union['TopUpCap', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                max_per_period_type_1 = TopUpCap.from_dict(data)



                return max_per_period_type_1
            except: # noqa: E722
                pass
            return cast(Union['TopUpCap', None, Unset], data)

        max_per_period = _parse_max_per_period(d.pop("max_per_period", UNSET))


        pause_after_failures = d.pop("pause_after_failures", UNSET)

        _pool = d.pop("pool", UNSET)
        pool: Union[Unset, Pool]
        if isinstance(_pool,  Unset):
            pool = UNSET
        else:
            pool = Pool(_pool)




        def _parse_target_balance(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        target_balance = _parse_target_balance(d.pop("target_balance", UNSET))


        auto_top_up_rule = cls(
            threshold=threshold,
            amount=amount,
            enabled=enabled,
            max_per_period=max_per_period,
            pause_after_failures=pause_after_failures,
            pool=pool,
            target_balance=target_balance,
        )

        return auto_top_up_rule

