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
  from ..models.balance import Balance
  from ..models.event import Event
  from ..models.record import Record





T = TypeVar("T", bound="BuyMoreResult")



@_attrs_define
class BuyMoreResult:
    """ `POST …/purchases/request`: the processing purchase and where to pay.

        Attributes:
            balance (Balance): Balances of one organisation at one moment, in micro-credits (exact
                decimals of credits on the wire).
            events (list['Event']): The events it made, in order.
            checkout_url (Union[None, Unset, str]): The organisation's checkout URL template filled in and signed
                (send the member there to pay); null without a template: the
                operator's backend charges the purchase on the `top_up.requested`
                webhook.
            hold (Union['Record', None, Unset]):
            purchase (Union['Record', None, Unset]):
            usage (Union['Record', None, Unset]):
     """

    balance: 'Balance'
    events: list['Event']
    checkout_url: Union[None, Unset, str] = UNSET
    hold: Union['Record', None, Unset] = UNSET
    purchase: Union['Record', None, Unset] = UNSET
    usage: Union['Record', None, Unset] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.balance import Balance
        from ..models.event import Event
        from ..models.record import Record
        balance = self.balance.to_dict()

        events = []
        for events_item_data in self.events:
            events_item = events_item_data.to_dict()
            events.append(events_item)



        checkout_url: Union[None, Unset, str]
        if isinstance(self.checkout_url, Unset):
            checkout_url = UNSET
        else:
            checkout_url = self.checkout_url

        hold: Union[None, Unset, dict[str, Any]]
        if isinstance(self.hold, Unset):
            hold = UNSET
        elif isinstance(self.hold, Record):
            hold = self.hold.to_dict()
        else:
            hold = self.hold

        purchase: Union[None, Unset, dict[str, Any]]
        if isinstance(self.purchase, Unset):
            purchase = UNSET
        elif isinstance(self.purchase, Record):
            purchase = self.purchase.to_dict()
        else:
            purchase = self.purchase

        usage: Union[None, Unset, dict[str, Any]]
        if isinstance(self.usage, Unset):
            usage = UNSET
        elif isinstance(self.usage, Record):
            usage = self.usage.to_dict()
        else:
            usage = self.usage


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "balance": balance,
            "events": events,
        })
        if checkout_url is not UNSET:
            field_dict["checkout_url"] = checkout_url
        if hold is not UNSET:
            field_dict["hold"] = hold
        if purchase is not UNSET:
            field_dict["purchase"] = purchase
        if usage is not UNSET:
            field_dict["usage"] = usage

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.balance import Balance
        from ..models.event import Event
        from ..models.record import Record
        d = dict(src_dict)
        balance = Balance.from_dict(d.pop("balance"))




        events = []
        _events = d.pop("events")
        for events_item_data in (_events):
            events_item = Event.from_dict(events_item_data)



            events.append(events_item)


        def _parse_checkout_url(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        checkout_url = _parse_checkout_url(d.pop("checkout_url", UNSET))


        def _parse_hold(data: object) -> Union['Record', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                hold_type_1 = Record.from_dict(data)



                return hold_type_1
            except: # noqa: E722
                pass
            return cast(Union['Record', None, Unset], data)

        hold = _parse_hold(d.pop("hold", UNSET))


        def _parse_purchase(data: object) -> Union['Record', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                purchase_type_1 = Record.from_dict(data)



                return purchase_type_1
            except: # noqa: E722
                pass
            return cast(Union['Record', None, Unset], data)

        purchase = _parse_purchase(d.pop("purchase", UNSET))


        def _parse_usage(data: object) -> Union['Record', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                usage_type_1 = Record.from_dict(data)



                return usage_type_1
            except: # noqa: E722
                pass
            return cast(Union['Record', None, Unset], data)

        usage = _parse_usage(d.pop("usage", UNSET))


        buy_more_result = cls(
            balance=balance,
            events=events,
            checkout_url=checkout_url,
            hold=hold,
            purchase=purchase,
            usage=usage,
        )


        buy_more_result.additional_properties = d
        return buy_more_result

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
