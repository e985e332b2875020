from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.funding import Funding
from ..models.pool import Pool
from ..models.reversal_policy import ReversalPolicy
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="SettingsPatch")



@_attrs_define
class SettingsPatch:
    """ Organisation settings to change; `None` keeps the current value. The
    result must pass [`OrgSettings::validate`](crate::OrgSettings::validate).

        Attributes:
            buy_more_amounts (Union[None, Unset, list[Union[float, str]]]): Buy more: the amounts an owner may choose (at
                most 10, each
                positive, none twice); `[]` stops offering Buy more.
            checkout_url_template (Union[None, Unset, str]): Buy more: the checkout URL template (`https://`, with
                `{purchase_id}` and `{signature}`; `{amount}` and `{org_id}`
                allowed); `""` removes it.
            consumption_order (Union[None, Unset, list[Pool]]): Each pool exactly once.
            expiring_first (Union[None, Unset, bool]): Whether blocks that expire soonest are consumed first, before the
                pool order.
            funding (Union[Funding, None, Unset]):
            funding_budget (Union[None, Unset, float, str]):
            locale (Union[None, Unset, str]): How the dashboard writes numbers, money and dates: `en-US` (the
                default), `en-GB`, `es-ES`, `de-DE`, `fr-FR` or `it-IT` (any case,
                `_` for `-`; stored as the tag).
            name (Union[None, Unset, str]): The organisation's display name, 1 to 200 characters (trimmed).
            overdraft_limit (Union[None, Unset, float, str]):
            parent_id (Union[None, Unset, str]): The parent organisation (`null`: none, a root). Changed on its own,
                not with other settings: the server hands it to the store's tree
                check (`Store::set_parent`, rules in [`crate::tree`]); the ledger's
                `SetSettings` refuses it.
            price_book (Union[None, Unset, str]): The price book this organisation's priced operations use, over its
                plan's; `""` removes the override (the plan's book applies again).
            renewal_day (Union[None, Unset, int]): Day of the month (1–28) periods start. Cannot change while the
                organisation has a plan.
            reversal_policy (Union[None, ReversalPolicy, Unset]):
            self_service_plan_change (Union[None, Unset, bool]): Change plan: apply an owner's choice of a catalogue plan at
                once
                (true) or send it as a `plan_change.requested` webhook (false).
            time_zone (Union[None, Unset, str]): An IANA zone name, such as Europe/Madrid. Cannot change while the
                organisation has a plan.
     """

    buy_more_amounts: Union[None, Unset, list[Union[float, str]]] = UNSET
    checkout_url_template: Union[None, Unset, str] = UNSET
    consumption_order: Union[None, Unset, list[Pool]] = UNSET
    expiring_first: Union[None, Unset, bool] = UNSET
    funding: Union[Funding, None, Unset] = UNSET
    funding_budget: Union[None, Unset, float, str] = UNSET
    locale: Union[None, Unset, str] = UNSET
    name: Union[None, Unset, str] = UNSET
    overdraft_limit: Union[None, Unset, float, str] = UNSET
    parent_id: Union[None, Unset, str] = UNSET
    price_book: Union[None, Unset, str] = UNSET
    renewal_day: Union[None, Unset, int] = UNSET
    reversal_policy: Union[None, ReversalPolicy, Unset] = UNSET
    self_service_plan_change: Union[None, Unset, bool] = UNSET
    time_zone: Union[None, Unset, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        buy_more_amounts: Union[None, Unset, list[Union[float, str]]]
        if isinstance(self.buy_more_amounts, Unset):
            buy_more_amounts = UNSET
        elif isinstance(self.buy_more_amounts, list):
            buy_more_amounts = []
            for buy_more_amounts_type_0_item_data in self.buy_more_amounts:
                buy_more_amounts_type_0_item: Union[float, str]
                buy_more_amounts_type_0_item = buy_more_amounts_type_0_item_data
                buy_more_amounts.append(buy_more_amounts_type_0_item)


        else:
            buy_more_amounts = self.buy_more_amounts

        checkout_url_template: Union[None, Unset, str]
        if isinstance(self.checkout_url_template, Unset):
            checkout_url_template = UNSET
        else:
            checkout_url_template = self.checkout_url_template

        consumption_order: Union[None, Unset, list[str]]
        if isinstance(self.consumption_order, Unset):
            consumption_order = UNSET
        elif isinstance(self.consumption_order, list):
            consumption_order = []
            for consumption_order_type_0_item_data in self.consumption_order:
                consumption_order_type_0_item = consumption_order_type_0_item_data.value
                consumption_order.append(consumption_order_type_0_item)


        else:
            consumption_order = self.consumption_order

        expiring_first: Union[None, Unset, bool]
        if isinstance(self.expiring_first, Unset):
            expiring_first = UNSET
        else:
            expiring_first = self.expiring_first

        funding: Union[None, Unset, str]
        if isinstance(self.funding, Unset):
            funding = UNSET
        elif isinstance(self.funding, Funding):
            funding = self.funding.value
        else:
            funding = self.funding

        funding_budget: Union[None, Unset, float, str]
        if isinstance(self.funding_budget, Unset):
            funding_budget = UNSET
        else:
            funding_budget = self.funding_budget

        locale: Union[None, Unset, str]
        if isinstance(self.locale, Unset):
            locale = UNSET
        else:
            locale = self.locale

        name: Union[None, Unset, str]
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        overdraft_limit: Union[None, Unset, float, str]
        if isinstance(self.overdraft_limit, Unset):
            overdraft_limit = UNSET
        else:
            overdraft_limit = self.overdraft_limit

        parent_id: Union[None, Unset, str]
        if isinstance(self.parent_id, Unset):
            parent_id = UNSET
        else:
            parent_id = self.parent_id

        price_book: Union[None, Unset, str]
        if isinstance(self.price_book, Unset):
            price_book = UNSET
        else:
            price_book = self.price_book

        renewal_day: Union[None, Unset, int]
        if isinstance(self.renewal_day, Unset):
            renewal_day = UNSET
        else:
            renewal_day = self.renewal_day

        reversal_policy: Union[None, Unset, str]
        if isinstance(self.reversal_policy, Unset):
            reversal_policy = UNSET
        elif isinstance(self.reversal_policy, ReversalPolicy):
            reversal_policy = self.reversal_policy.value
        else:
            reversal_policy = self.reversal_policy

        self_service_plan_change: Union[None, Unset, bool]
        if isinstance(self.self_service_plan_change, Unset):
            self_service_plan_change = UNSET
        else:
            self_service_plan_change = self.self_service_plan_change

        time_zone: Union[None, Unset, str]
        if isinstance(self.time_zone, Unset):
            time_zone = UNSET
        else:
            time_zone = self.time_zone


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if buy_more_amounts is not UNSET:
            field_dict["buy_more_amounts"] = buy_more_amounts
        if checkout_url_template is not UNSET:
            field_dict["checkout_url_template"] = checkout_url_template
        if consumption_order is not UNSET:
            field_dict["consumption_order"] = consumption_order
        if expiring_first is not UNSET:
            field_dict["expiring_first"] = expiring_first
        if funding is not UNSET:
            field_dict["funding"] = funding
        if funding_budget is not UNSET:
            field_dict["funding_budget"] = funding_budget
        if locale is not UNSET:
            field_dict["locale"] = locale
        if name is not UNSET:
            field_dict["name"] = name
        if overdraft_limit is not UNSET:
            field_dict["overdraft_limit"] = overdraft_limit
        if parent_id is not UNSET:
            field_dict["parent_id"] = parent_id
        if price_book is not UNSET:
            field_dict["price_book"] = price_book
        if renewal_day is not UNSET:
            field_dict["renewal_day"] = renewal_day
        if reversal_policy is not UNSET:
            field_dict["reversal_policy"] = reversal_policy
        if self_service_plan_change is not UNSET:
            field_dict["self_service_plan_change"] = self_service_plan_change
        if time_zone is not UNSET:
            field_dict["time_zone"] = time_zone

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_buy_more_amounts(data: object) -> Union[None, Unset, list[Union[float, str]]]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                buy_more_amounts_type_0 = []
                _buy_more_amounts_type_0 = data
                for buy_more_amounts_type_0_item_data in (_buy_more_amounts_type_0):
                    def _parse_buy_more_amounts_type_0_item(data: object) -> Union[float, str]:
                        return cast(Union[float, str], data)

                    buy_more_amounts_type_0_item = _parse_buy_more_amounts_type_0_item(buy_more_amounts_type_0_item_data)

                    buy_more_amounts_type_0.append(buy_more_amounts_type_0_item)

                return buy_more_amounts_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, list[Union[float, str]]], data)

        buy_more_amounts = _parse_buy_more_amounts(d.pop("buy_more_amounts", UNSET))


        def _parse_checkout_url_template(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        checkout_url_template = _parse_checkout_url_template(d.pop("checkout_url_template", UNSET))


        def _parse_consumption_order(data: object) -> Union[None, Unset, list[Pool]]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                consumption_order_type_0 = []
                _consumption_order_type_0 = data
                for consumption_order_type_0_item_data in (_consumption_order_type_0):
                    consumption_order_type_0_item = Pool(consumption_order_type_0_item_data)



                    consumption_order_type_0.append(consumption_order_type_0_item)

                return consumption_order_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, list[Pool]], data)

        consumption_order = _parse_consumption_order(d.pop("consumption_order", UNSET))


        def _parse_expiring_first(data: object) -> Union[None, Unset, bool]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, bool], data)

        expiring_first = _parse_expiring_first(d.pop("expiring_first", UNSET))


        def _parse_funding(data: object) -> Union[Funding, None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                funding_type_1 = Funding(data)



                return funding_type_1
            except: # noqa: E722
                pass
            return cast(Union[Funding, None, Unset], data)

        funding = _parse_funding(d.pop("funding", UNSET))


        def _parse_funding_budget(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        funding_budget = _parse_funding_budget(d.pop("funding_budget", UNSET))


        def _parse_locale(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        locale = _parse_locale(d.pop("locale", UNSET))


        def _parse_name(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        name = _parse_name(d.pop("name", UNSET))


        def _parse_overdraft_limit(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        overdraft_limit = _parse_overdraft_limit(d.pop("overdraft_limit", UNSET))


        def _parse_parent_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        parent_id = _parse_parent_id(d.pop("parent_id", UNSET))


        def _parse_price_book(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        price_book = _parse_price_book(d.pop("price_book", UNSET))


        def _parse_renewal_day(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        renewal_day = _parse_renewal_day(d.pop("renewal_day", UNSET))


        def _parse_reversal_policy(data: object) -> Union[None, ReversalPolicy, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reversal_policy_type_1 = ReversalPolicy(data)



                return reversal_policy_type_1
            except: # noqa: E722
                pass
            return cast(Union[None, ReversalPolicy, Unset], data)

        reversal_policy = _parse_reversal_policy(d.pop("reversal_policy", UNSET))


        def _parse_self_service_plan_change(data: object) -> Union[None, Unset, bool]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, bool], data)

        self_service_plan_change = _parse_self_service_plan_change(d.pop("self_service_plan_change", UNSET))


        def _parse_time_zone(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        time_zone = _parse_time_zone(d.pop("time_zone", UNSET))


        settings_patch = cls(
            buy_more_amounts=buy_more_amounts,
            checkout_url_template=checkout_url_template,
            consumption_order=consumption_order,
            expiring_first=expiring_first,
            funding=funding,
            funding_budget=funding_budget,
            locale=locale,
            name=name,
            overdraft_limit=overdraft_limit,
            parent_id=parent_id,
            price_book=price_book,
            renewal_day=renewal_day,
            reversal_policy=reversal_policy,
            self_service_plan_change=self_service_plan_change,
            time_zone=time_zone,
        )

        return settings_patch

