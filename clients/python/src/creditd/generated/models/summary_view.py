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
  from ..models.low_balance import LowBalance
  from ..models.forecast import Forecast
  from ..models.funded_child import FundedChild
  from ..models.price import Price
  from ..models.funding_view import FundingView
  from ..models.auto_top_up_status import AutoTopUpStatus
  from ..models.cap_view import CapView





T = TypeVar("T", bound="SummaryView")



@_attrs_define
class SummaryView:
    """ `GET …/summary`: the summary and the caps the caller may see.

        Attributes:
            accumulated_credits (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            add_on_credits (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            as_of (str):
            auto_top_up (AutoTopUpStatus): Auto top-up in one line: the summary's.
            balance (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            caps (list['CapView']): The caps the caller may see.
            conversations_per_identity (int): Conversations each identity may start per month (the default
                without a plan).
            credits_left (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            forecast (Forecast): "At the last 28 days' pace credits run out on DATE", or never.
            held (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            identities_used (int): Identities that started a conversation this month.
            low_balance (LowBalance): The low-balance alert as of the summary.
            org_id (str): The organisation.
            other_credits (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            overdraft_used (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            plan_credits (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            plan_credits_left (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            time_zone (str): The org's IANA zone, in which the dates below are.
            used_this_period (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            days_until_top_up (Union[None, Unset, int]): Whole days from today to the top-up date, in the org's zone.
            funded_by (Union['FundingView', None, Unset]):
            funded_children (Union[Unset, list['FundedChild']]): The children that draw on this organisation (`funding:
                parent`),
                with what each drew and consumed this period.
            identities (Union[None, Unset, int]): Identities included in the plan.
            next_plan (Union[None, Unset, str]): The plan that takes over at the next renewal, if one was chosen.
            period_end (Union[None, Unset, str]):
            period_start (Union[None, Unset, str]):
            plan (Union[None, Unset, str]): Plan name; null without a plan (the seeds show "Not available").
            price (Union['Price', None, Unset]):
            renews_at (Union[None, Unset, str]):
            top_up_date (Union[None, Unset, str]):
     """

    accumulated_credits: float
    add_on_credits: float
    as_of: str
    auto_top_up: 'AutoTopUpStatus'
    balance: float
    caps: list['CapView']
    conversations_per_identity: int
    credits_left: float
    forecast: 'Forecast'
    held: float
    identities_used: int
    low_balance: 'LowBalance'
    org_id: str
    other_credits: float
    overdraft_used: float
    plan_credits: float
    plan_credits_left: float
    time_zone: str
    used_this_period: float
    days_until_top_up: Union[None, Unset, int] = UNSET
    funded_by: Union['FundingView', None, Unset] = UNSET
    funded_children: Union[Unset, list['FundedChild']] = UNSET
    identities: Union[None, Unset, int] = UNSET
    next_plan: Union[None, Unset, str] = UNSET
    period_end: Union[None, Unset, str] = UNSET
    period_start: Union[None, Unset, str] = UNSET
    plan: Union[None, Unset, str] = UNSET
    price: Union['Price', None, Unset] = UNSET
    renews_at: Union[None, Unset, str] = UNSET
    top_up_date: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.low_balance import LowBalance
        from ..models.forecast import Forecast
        from ..models.funded_child import FundedChild
        from ..models.price import Price
        from ..models.funding_view import FundingView
        from ..models.auto_top_up_status import AutoTopUpStatus
        from ..models.cap_view import CapView
        accumulated_credits = self.accumulated_credits

        add_on_credits = self.add_on_credits

        as_of = self.as_of

        auto_top_up = self.auto_top_up.to_dict()

        balance = self.balance

        caps = []
        for caps_item_data in self.caps:
            caps_item = caps_item_data.to_dict()
            caps.append(caps_item)



        conversations_per_identity = self.conversations_per_identity

        credits_left = self.credits_left

        forecast = self.forecast.to_dict()

        held = self.held

        identities_used = self.identities_used

        low_balance = self.low_balance.to_dict()

        org_id = self.org_id

        other_credits = self.other_credits

        overdraft_used = self.overdraft_used

        plan_credits = self.plan_credits

        plan_credits_left = self.plan_credits_left

        time_zone = self.time_zone

        used_this_period = self.used_this_period

        days_until_top_up: Union[None, Unset, int]
        if isinstance(self.days_until_top_up, Unset):
            days_until_top_up = UNSET
        else:
            days_until_top_up = self.days_until_top_up

        funded_by: Union[None, Unset, dict[str, Any]]
        if isinstance(self.funded_by, Unset):
            funded_by = UNSET
        elif isinstance(self.funded_by, FundingView):
            funded_by = self.funded_by.to_dict()
        else:
            funded_by = self.funded_by

        funded_children: Union[Unset, list[dict[str, Any]]] = UNSET
        if not isinstance(self.funded_children, Unset):
            funded_children = []
            for funded_children_item_data in self.funded_children:
                funded_children_item = funded_children_item_data.to_dict()
                funded_children.append(funded_children_item)



        identities: Union[None, Unset, int]
        if isinstance(self.identities, Unset):
            identities = UNSET
        else:
            identities = self.identities

        next_plan: Union[None, Unset, str]
        if isinstance(self.next_plan, Unset):
            next_plan = UNSET
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

        plan: Union[None, Unset, str]
        if isinstance(self.plan, Unset):
            plan = UNSET
        else:
            plan = self.plan

        price: Union[None, Unset, dict[str, Any]]
        if isinstance(self.price, Unset):
            price = UNSET
        elif isinstance(self.price, Price):
            price = self.price.to_dict()
        else:
            price = self.price

        renews_at: Union[None, Unset, str]
        if isinstance(self.renews_at, Unset):
            renews_at = UNSET
        else:
            renews_at = self.renews_at

        top_up_date: Union[None, Unset, str]
        if isinstance(self.top_up_date, Unset):
            top_up_date = UNSET
        else:
            top_up_date = self.top_up_date


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "accumulated_credits": accumulated_credits,
            "add_on_credits": add_on_credits,
            "as_of": as_of,
            "auto_top_up": auto_top_up,
            "balance": balance,
            "caps": caps,
            "conversations_per_identity": conversations_per_identity,
            "credits_left": credits_left,
            "forecast": forecast,
            "held": held,
            "identities_used": identities_used,
            "low_balance": low_balance,
            "org_id": org_id,
            "other_credits": other_credits,
            "overdraft_used": overdraft_used,
            "plan_credits": plan_credits,
            "plan_credits_left": plan_credits_left,
            "time_zone": time_zone,
            "used_this_period": used_this_period,
        })
        if days_until_top_up is not UNSET:
            field_dict["days_until_top_up"] = days_until_top_up
        if funded_by is not UNSET:
            field_dict["funded_by"] = funded_by
        if funded_children is not UNSET:
            field_dict["funded_children"] = funded_children
        if identities is not UNSET:
            field_dict["identities"] = identities
        if next_plan is not UNSET:
            field_dict["next_plan"] = next_plan
        if period_end is not UNSET:
            field_dict["period_end"] = period_end
        if period_start is not UNSET:
            field_dict["period_start"] = period_start
        if plan is not UNSET:
            field_dict["plan"] = plan
        if price is not UNSET:
            field_dict["price"] = price
        if renews_at is not UNSET:
            field_dict["renews_at"] = renews_at
        if top_up_date is not UNSET:
            field_dict["top_up_date"] = top_up_date

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.low_balance import LowBalance
        from ..models.forecast import Forecast
        from ..models.funded_child import FundedChild
        from ..models.price import Price
        from ..models.funding_view import FundingView
        from ..models.auto_top_up_status import AutoTopUpStatus
        from ..models.cap_view import CapView
        d = dict(src_dict)
        accumulated_credits = d.pop("accumulated_credits")

        add_on_credits = d.pop("add_on_credits")

        as_of = d.pop("as_of")

        auto_top_up = AutoTopUpStatus.from_dict(d.pop("auto_top_up"))




        balance = d.pop("balance")

        caps = []
        _caps = d.pop("caps")
        for caps_item_data in (_caps):
            caps_item = CapView.from_dict(caps_item_data)



            caps.append(caps_item)


        conversations_per_identity = d.pop("conversations_per_identity")

        credits_left = d.pop("credits_left")

        forecast = Forecast.from_dict(d.pop("forecast"))




        held = d.pop("held")

        identities_used = d.pop("identities_used")

        low_balance = LowBalance.from_dict(d.pop("low_balance"))




        org_id = d.pop("org_id")

        other_credits = d.pop("other_credits")

        overdraft_used = d.pop("overdraft_used")

        plan_credits = d.pop("plan_credits")

        plan_credits_left = d.pop("plan_credits_left")

        time_zone = d.pop("time_zone")

        used_this_period = d.pop("used_this_period")

        def _parse_days_until_top_up(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        days_until_top_up = _parse_days_until_top_up(d.pop("days_until_top_up", UNSET))


        def _parse_funded_by(data: object) -> Union['FundingView', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                funded_by_type_1 = FundingView.from_dict(data)



                return funded_by_type_1
            except: # noqa: E722
                pass
            return cast(Union['FundingView', None, Unset], data)

        funded_by = _parse_funded_by(d.pop("funded_by", UNSET))


        funded_children = []
        _funded_children = d.pop("funded_children", UNSET)
        for funded_children_item_data in (_funded_children or []):
            funded_children_item = FundedChild.from_dict(funded_children_item_data)



            funded_children.append(funded_children_item)


        def _parse_identities(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        identities = _parse_identities(d.pop("identities", UNSET))


        def _parse_next_plan(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

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


        def _parse_plan(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        plan = _parse_plan(d.pop("plan", UNSET))


        def _parse_price(data: object) -> Union['Price', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                price_type_1 = Price.from_dict(data)



                return price_type_1
            except: # noqa: E722
                pass
            return cast(Union['Price', None, Unset], data)

        price = _parse_price(d.pop("price", UNSET))


        def _parse_renews_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        renews_at = _parse_renews_at(d.pop("renews_at", UNSET))


        def _parse_top_up_date(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        top_up_date = _parse_top_up_date(d.pop("top_up_date", UNSET))


        summary_view = cls(
            accumulated_credits=accumulated_credits,
            add_on_credits=add_on_credits,
            as_of=as_of,
            auto_top_up=auto_top_up,
            balance=balance,
            caps=caps,
            conversations_per_identity=conversations_per_identity,
            credits_left=credits_left,
            forecast=forecast,
            held=held,
            identities_used=identities_used,
            low_balance=low_balance,
            org_id=org_id,
            other_credits=other_credits,
            overdraft_used=overdraft_used,
            plan_credits=plan_credits,
            plan_credits_left=plan_credits_left,
            time_zone=time_zone,
            used_this_period=used_this_period,
            days_until_top_up=days_until_top_up,
            funded_by=funded_by,
            funded_children=funded_children,
            identities=identities,
            next_plan=next_plan,
            period_end=period_end,
            period_start=period_start,
            plan=plan,
            price=price,
            renews_at=renews_at,
            top_up_date=top_up_date,
        )


        summary_view.additional_properties = d
        return summary_view

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
