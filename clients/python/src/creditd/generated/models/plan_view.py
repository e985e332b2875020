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
  from ..models.plan import Plan





T = TypeVar("T", bound="PlanView")



@_attrs_define
class PlanView:
    """ `GET …/plan`: the plan, a pending change, the anchor and the period.

        Attributes:
            renewal_day (int): The day of the month periods start (1–28).
            time_zone (str): The organisation's time zone.
            next_plan (Union['Plan', None, Unset]):
            period_end (Union[None, Unset, str]):
            period_start (Union[None, Unset, str]):
            plan (Union['Plan', None, Unset]):
            renews_at (Union[None, Unset, str]):
            subscribed_at (Union[None, Unset, str]):
     """

    renewal_day: int
    time_zone: str
    next_plan: Union['Plan', None, Unset] = UNSET
    period_end: Union[None, Unset, str] = UNSET
    period_start: Union[None, Unset, str] = UNSET
    plan: Union['Plan', None, Unset] = UNSET
    renews_at: Union[None, Unset, str] = UNSET
    subscribed_at: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.plan import Plan
        renewal_day = self.renewal_day

        time_zone = self.time_zone

        next_plan: Union[None, Unset, dict[str, Any]]
        if isinstance(self.next_plan, Unset):
            next_plan = UNSET
        elif isinstance(self.next_plan, Plan):
            next_plan = self.next_plan.to_dict()
        else:
            next_plan = self.next_plan

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

        plan: Union[None, Unset, dict[str, Any]]
        if isinstance(self.plan, Unset):
            plan = UNSET
        elif isinstance(self.plan, Plan):
            plan = self.plan.to_dict()
        else:
            plan = self.plan

        renews_at: Union[None, Unset, str]
        if isinstance(self.renews_at, Unset):
            renews_at = UNSET
        else:
            renews_at = self.renews_at

        subscribed_at: Union[None, Unset, str]
        if isinstance(self.subscribed_at, Unset):
            subscribed_at = UNSET
        else:
            subscribed_at = self.subscribed_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "renewal_day": renewal_day,
            "time_zone": time_zone,
        })
        if next_plan is not UNSET:
            field_dict["next_plan"] = next_plan
        if period_end is not UNSET:
            field_dict["period_end"] = period_end
        if period_start is not UNSET:
            field_dict["period_start"] = period_start
        if plan is not UNSET:
            field_dict["plan"] = plan
        if renews_at is not UNSET:
            field_dict["renews_at"] = renews_at
        if subscribed_at is not UNSET:
            field_dict["subscribed_at"] = subscribed_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.plan import Plan
        d = dict(src_dict)
        renewal_day = d.pop("renewal_day")

        time_zone = d.pop("time_zone")

        def _parse_next_plan(data: object) -> Union['Plan', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                next_plan_type_1 = Plan.from_dict(data)



                return next_plan_type_1
            except: # noqa: E722
                pass
            return cast(Union['Plan', None, Unset], data)

        next_plan = _parse_next_plan(d.pop("next_plan", UNSET))


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


        def _parse_plan(data: object) -> Union['Plan', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                plan_type_1 = Plan.from_dict(data)



                return plan_type_1
            except: # noqa: E722
                pass
            return cast(Union['Plan', None, Unset], data)

        plan = _parse_plan(d.pop("plan", UNSET))


        def _parse_renews_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        renews_at = _parse_renews_at(d.pop("renews_at", UNSET))


        def _parse_subscribed_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        subscribed_at = _parse_subscribed_at(d.pop("subscribed_at", UNSET))


        plan_view = cls(
            renewal_day=renewal_day,
            time_zone=time_zone,
            next_plan=next_plan,
            period_end=period_end,
            period_start=period_start,
            plan=plan,
            renews_at=renews_at,
            subscribed_at=subscribed_at,
        )


        plan_view.additional_properties = d
        return plan_view

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
