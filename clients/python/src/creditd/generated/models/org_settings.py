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






T = TypeVar("T", bound="OrgSettings")



@_attrs_define
class OrgSettings:
    """ Per-organisation settings the rules depend on.

        Attributes:
            consumption_order (list[Pool]): Pools in the order they are consumed (after soonest-expiring first).
            expiring_first (bool): Consume blocks that expire soonest first, before the pool order.
            name (str): The organisation's display name, 1 to 200 characters, no NUL.
            overdraft_limit (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            renewal_day (int): Day of the month (1–28) a plan period starts, 00:00 in `time_zone`.
            time_zone (str): IANA zone name; periods, "today" and renewals are in this zone.
            buy_more_amounts (Union[Unset, list[Union[float, str]]]): Buy more: the amounts (micro-credits; exact decimals
                on the wire) an
                owner may choose on the dashboard's Plan tab
                (`POST …/purchases/request`); empty: Buy more is not offered.
                Checked by [`crate::checkout::check_amounts`].
            checkout_url_template (Union[None, Unset, str]): Buy more: where the member is sent to pay, an `https://` URL
                with
                `{purchase_id}` and `{signature}` (see [`crate::checkout`]); none:
                the purchase waits for the operator's backend (the
                `top_up.requested` webhook).
            funding (Union[Unset, Funding]): Whose balance an organisation's consumption draws on (see
                [`crate::funding`]).
            funding_budget (Union[None, Unset, float, str]):
            locale (Union[Unset, str]): How the dashboard writes numbers, money and dates for this
                organisation's people: `en-US` (the default), `en-GB`, `es-ES`,
                `de-DE`, `fr-FR` or `it-IT` (the tags of `locale::Locale::ALL`). Example: es-ES.
            low_balance_threshold (Union[None, Unset, float]):
            price_book (Union[None, Unset, str]): The price book priced operations use, over the plan's
                (`Plan::price_book`); none: the plan's.
            reversal_policy (Union[Unset, ReversalPolicy]): What happens to the credits of a reversed purchase that were
                already
                spent (see `OrgState::reverse_purchase`).
            self_service_plan_change (Union[Unset, bool]): Change plan: an owner's choice of a catalogue plan is applied at
                once; false (the default): it is sent as a `plan_change.requested`
                webhook for the operator to apply.
     """

    consumption_order: list[Pool]
    expiring_first: bool
    name: str
    overdraft_limit: float
    renewal_day: int
    time_zone: str
    buy_more_amounts: Union[Unset, list[Union[float, str]]] = UNSET
    checkout_url_template: Union[None, Unset, str] = UNSET
    funding: Union[Unset, Funding] = UNSET
    funding_budget: Union[None, Unset, float, str] = UNSET
    locale: Union[Unset, str] = UNSET
    low_balance_threshold: Union[None, Unset, float] = UNSET
    price_book: Union[None, Unset, str] = UNSET
    reversal_policy: Union[Unset, ReversalPolicy] = UNSET
    self_service_plan_change: Union[Unset, bool] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        consumption_order = []
        for consumption_order_item_data in self.consumption_order:
            consumption_order_item = consumption_order_item_data.value
            consumption_order.append(consumption_order_item)



        expiring_first = self.expiring_first

        name = self.name

        overdraft_limit = self.overdraft_limit

        renewal_day = self.renewal_day

        time_zone = self.time_zone

        buy_more_amounts: Union[Unset, list[Union[float, str]]] = UNSET
        if not isinstance(self.buy_more_amounts, Unset):
            buy_more_amounts = []
            for buy_more_amounts_item_data in self.buy_more_amounts:
                buy_more_amounts_item: Union[float, str]
                buy_more_amounts_item = buy_more_amounts_item_data
                buy_more_amounts.append(buy_more_amounts_item)



        checkout_url_template: Union[None, Unset, str]
        if isinstance(self.checkout_url_template, Unset):
            checkout_url_template = UNSET
        else:
            checkout_url_template = self.checkout_url_template

        funding: Union[Unset, str] = UNSET
        if not isinstance(self.funding, Unset):
            funding = self.funding.value


        funding_budget: Union[None, Unset, float, str]
        if isinstance(self.funding_budget, Unset):
            funding_budget = UNSET
        else:
            funding_budget = self.funding_budget

        locale = self.locale

        low_balance_threshold: Union[None, Unset, float]
        if isinstance(self.low_balance_threshold, Unset):
            low_balance_threshold = UNSET
        else:
            low_balance_threshold = self.low_balance_threshold

        price_book: Union[None, Unset, str]
        if isinstance(self.price_book, Unset):
            price_book = UNSET
        else:
            price_book = self.price_book

        reversal_policy: Union[Unset, str] = UNSET
        if not isinstance(self.reversal_policy, Unset):
            reversal_policy = self.reversal_policy.value


        self_service_plan_change = self.self_service_plan_change


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "consumption_order": consumption_order,
            "expiring_first": expiring_first,
            "name": name,
            "overdraft_limit": overdraft_limit,
            "renewal_day": renewal_day,
            "time_zone": time_zone,
        })
        if buy_more_amounts is not UNSET:
            field_dict["buy_more_amounts"] = buy_more_amounts
        if checkout_url_template is not UNSET:
            field_dict["checkout_url_template"] = checkout_url_template
        if funding is not UNSET:
            field_dict["funding"] = funding
        if funding_budget is not UNSET:
            field_dict["funding_budget"] = funding_budget
        if locale is not UNSET:
            field_dict["locale"] = locale
        if low_balance_threshold is not UNSET:
            field_dict["low_balance_threshold"] = low_balance_threshold
        if price_book is not UNSET:
            field_dict["price_book"] = price_book
        if reversal_policy is not UNSET:
            field_dict["reversal_policy"] = reversal_policy
        if self_service_plan_change is not UNSET:
            field_dict["self_service_plan_change"] = self_service_plan_change

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        consumption_order = []
        _consumption_order = d.pop("consumption_order")
        for consumption_order_item_data in (_consumption_order):
            consumption_order_item = Pool(consumption_order_item_data)



            consumption_order.append(consumption_order_item)


        expiring_first = d.pop("expiring_first")

        name = d.pop("name")

        overdraft_limit = d.pop("overdraft_limit")

        renewal_day = d.pop("renewal_day")

        time_zone = d.pop("time_zone")

        buy_more_amounts = []
        _buy_more_amounts = d.pop("buy_more_amounts", UNSET)
        for buy_more_amounts_item_data in (_buy_more_amounts or []):
            def _parse_buy_more_amounts_item(data: object) -> Union[float, str]:
                return cast(Union[float, str], data)

            buy_more_amounts_item = _parse_buy_more_amounts_item(buy_more_amounts_item_data)

            buy_more_amounts.append(buy_more_amounts_item)


        def _parse_checkout_url_template(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        checkout_url_template = _parse_checkout_url_template(d.pop("checkout_url_template", UNSET))


        _funding = d.pop("funding", UNSET)
        funding: Union[Unset, Funding]
        if isinstance(_funding,  Unset):
            funding = UNSET
        else:
            funding = Funding(_funding)




        def _parse_funding_budget(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        funding_budget = _parse_funding_budget(d.pop("funding_budget", UNSET))


        locale = d.pop("locale", UNSET)

        def _parse_low_balance_threshold(data: object) -> Union[None, Unset, float]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float], data)

        low_balance_threshold = _parse_low_balance_threshold(d.pop("low_balance_threshold", UNSET))


        def _parse_price_book(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        price_book = _parse_price_book(d.pop("price_book", UNSET))


        _reversal_policy = d.pop("reversal_policy", UNSET)
        reversal_policy: Union[Unset, ReversalPolicy]
        if isinstance(_reversal_policy,  Unset):
            reversal_policy = UNSET
        else:
            reversal_policy = ReversalPolicy(_reversal_policy)




        self_service_plan_change = d.pop("self_service_plan_change", UNSET)

        org_settings = cls(
            consumption_order=consumption_order,
            expiring_first=expiring_first,
            name=name,
            overdraft_limit=overdraft_limit,
            renewal_day=renewal_day,
            time_zone=time_zone,
            buy_more_amounts=buy_more_amounts,
            checkout_url_template=checkout_url_template,
            funding=funding,
            funding_budget=funding_budget,
            locale=locale,
            low_balance_threshold=low_balance_threshold,
            price_book=price_book,
            reversal_policy=reversal_policy,
            self_service_plan_change=self_service_plan_change,
        )


        org_settings.additional_properties = d
        return org_settings

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
