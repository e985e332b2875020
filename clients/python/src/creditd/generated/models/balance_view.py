from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.pool_balances import PoolBalances
  from ..models.cap_view import CapView





T = TypeVar("T", bound="BalanceView")



@_attrs_define
class BalanceView:
    """ `GET …/balance`: the balance and the caps the caller may see.

        Attributes:
            available (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            caps (list['CapView']): The caps the caller may see.
            held (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            org_id (str): The organisation.
            overdraft_limit (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            overdraft_used (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            period_usage (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            pools (PoolBalances): What the blocks of each pool hold, in micro-credits.
            seq (int): Sequence number of the last event.
            period_end (Union[None, Unset, str]):
            period_start (Union[None, Unset, str]):
            reversal_debt (Union[Unset, float]): Credits, exact to 0.000001 (micro-credits), written as a JSON number
     """

    available: float
    caps: list['CapView']
    held: float
    org_id: str
    overdraft_limit: float
    overdraft_used: float
    period_usage: float
    pools: 'PoolBalances'
    seq: int
    period_end: Union[None, Unset, str] = UNSET
    period_start: Union[None, Unset, str] = UNSET
    reversal_debt: Union[Unset, float] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.pool_balances import PoolBalances
        from ..models.cap_view import CapView
        available = self.available

        caps = []
        for caps_item_data in self.caps:
            caps_item = caps_item_data.to_dict()
            caps.append(caps_item)



        held = self.held

        org_id = self.org_id

        overdraft_limit = self.overdraft_limit

        overdraft_used = self.overdraft_used

        period_usage = self.period_usage

        pools = self.pools.to_dict()

        seq = self.seq

        period_end: Union[None, Unset, str]
        if isinstance(self.period_end, Unset):
            period_end = UNSET
        else:
            period_end = self.period_end

        period_start: Union[None, Unset, str]
        if isinstance(self.period_start, Unset):
            period_start = UNSET
        else:
            period_start = self.period_start

        reversal_debt = self.reversal_debt


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "available": available,
            "caps": caps,
            "held": held,
            "org_id": org_id,
            "overdraft_limit": overdraft_limit,
            "overdraft_used": overdraft_used,
            "period_usage": period_usage,
            "pools": pools,
            "seq": seq,
        })
        if period_end is not UNSET:
            field_dict["period_end"] = period_end
        if period_start is not UNSET:
            field_dict["period_start"] = period_start
        if reversal_debt is not UNSET:
            field_dict["reversal_debt"] = reversal_debt

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.pool_balances import PoolBalances
        from ..models.cap_view import CapView
        d = dict(src_dict)
        available = d.pop("available")

        caps = []
        _caps = d.pop("caps")
        for caps_item_data in (_caps):
            caps_item = CapView.from_dict(caps_item_data)



            caps.append(caps_item)


        held = d.pop("held")

        org_id = d.pop("org_id")

        overdraft_limit = d.pop("overdraft_limit")

        overdraft_used = d.pop("overdraft_used")

        period_usage = d.pop("period_usage")

        pools = PoolBalances.from_dict(d.pop("pools"))




        seq = d.pop("seq")

        def _parse_period_end(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        period_end = _parse_period_end(d.pop("period_end", UNSET))


        def _parse_period_start(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        period_start = _parse_period_start(d.pop("period_start", UNSET))


        reversal_debt = d.pop("reversal_debt", UNSET)

        balance_view = cls(
            available=available,
            caps=caps,
            held=held,
            org_id=org_id,
            overdraft_limit=overdraft_limit,
            overdraft_used=overdraft_used,
            period_usage=period_usage,
            pools=pools,
            seq=seq,
            period_end=period_end,
            period_start=period_start,
            reversal_debt=reversal_debt,
        )


        balance_view.additional_properties = d
        return balance_view

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
