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
  from ..models.top_up_pause import TopUpPause
  from ..models.pending_top_up import PendingTopUp
  from ..models.auto_top_up_rule import AutoTopUpRule





T = TypeVar("T", bound="AutoTopUpView")



@_attrs_define
class AutoTopUpView:
    """ `GET …/auto-top-up`: the rule and where it stands.

        Attributes:
            consecutive_failures (int): Top-ups settled failed since the last one that succeeded.
            count_this_period (int): Top-ups requested this period that did not fail.
            credits_this_period (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            status (str): `off` (no rule), `active`, `disabled` (`enabled: false`) or
                `paused` (see `paused`).
            paused (Union['TopUpPause', None, Unset]):
            pending (Union['PendingTopUp', None, Unset]):
            period_start (Union[None, Unset, str]):
            rule (Union['AutoTopUpRule', None, Unset]):
     """

    consecutive_failures: int
    count_this_period: int
    credits_this_period: float
    status: str
    paused: Union['TopUpPause', None, Unset] = UNSET
    pending: Union['PendingTopUp', None, Unset] = UNSET
    period_start: Union[None, Unset, str] = UNSET
    rule: Union['AutoTopUpRule', None, Unset] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.top_up_pause import TopUpPause
        from ..models.pending_top_up import PendingTopUp
        from ..models.auto_top_up_rule import AutoTopUpRule
        consecutive_failures = self.consecutive_failures

        count_this_period = self.count_this_period

        credits_this_period = self.credits_this_period

        status = self.status

        paused: Union[None, Unset, dict[str, Any]]
        if isinstance(self.paused, Unset):
            paused = UNSET
        elif isinstance(self.paused, TopUpPause):
            paused = self.paused.to_dict()
        else:
            paused = self.paused

        pending: Union[None, Unset, dict[str, Any]]
        if isinstance(self.pending, Unset):
            pending = UNSET
        elif isinstance(self.pending, PendingTopUp):
            pending = self.pending.to_dict()
        else:
            pending = self.pending

        period_start: Union[None, Unset, str]
        if isinstance(self.period_start, Unset):
            period_start = UNSET
        else:
            period_start = self.period_start

        rule: Union[None, Unset, dict[str, Any]]
        if isinstance(self.rule, Unset):
            rule = UNSET
        elif isinstance(self.rule, AutoTopUpRule):
            rule = self.rule.to_dict()
        else:
            rule = self.rule


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "consecutive_failures": consecutive_failures,
            "count_this_period": count_this_period,
            "credits_this_period": credits_this_period,
            "status": status,
        })
        if paused is not UNSET:
            field_dict["paused"] = paused
        if pending is not UNSET:
            field_dict["pending"] = pending
        if period_start is not UNSET:
            field_dict["period_start"] = period_start
        if rule is not UNSET:
            field_dict["rule"] = rule

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.top_up_pause import TopUpPause
        from ..models.pending_top_up import PendingTopUp
        from ..models.auto_top_up_rule import AutoTopUpRule
        d = dict(src_dict)
        consecutive_failures = d.pop("consecutive_failures")

        count_this_period = d.pop("count_this_period")

        credits_this_period = d.pop("credits_this_period")

        status = d.pop("status")

        def _parse_paused(data: object) -> Union['TopUpPause', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                paused_type_1 = TopUpPause.from_dict(data)



                return paused_type_1
            except: # noqa: E722
                pass
            return cast(Union['TopUpPause', None, Unset], data)

        paused = _parse_paused(d.pop("paused", UNSET))


        def _parse_pending(data: object) -> Union['PendingTopUp', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                pending_type_1 = PendingTopUp.from_dict(data)



                return pending_type_1
            except: # noqa: E722
                pass
            return cast(Union['PendingTopUp', None, Unset], data)

        pending = _parse_pending(d.pop("pending", UNSET))


        def _parse_period_start(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        period_start = _parse_period_start(d.pop("period_start", UNSET))


        def _parse_rule(data: object) -> Union['AutoTopUpRule', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                rule_type_1 = AutoTopUpRule.from_dict(data)



                return rule_type_1
            except: # noqa: E722
                pass
            return cast(Union['AutoTopUpRule', None, Unset], data)

        rule = _parse_rule(d.pop("rule", UNSET))


        auto_top_up_view = cls(
            consecutive_failures=consecutive_failures,
            count_this_period=count_this_period,
            credits_this_period=credits_this_period,
            status=status,
            paused=paused,
            pending=pending,
            period_start=period_start,
            rule=rule,
        )


        auto_top_up_view.additional_properties = d
        return auto_top_up_view

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
