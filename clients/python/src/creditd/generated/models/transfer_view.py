from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from typing import cast, Union

if TYPE_CHECKING:
  from ..models.balance import Balance
  from ..models.event import Event





T = TypeVar("T", bound="TransferView")



@_attrs_define
class TransferView:
    """ What a transfer answers (and a retry with the same key answers again).

        Attributes:
            amount (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            balance (Balance): Balances of one organisation at one moment, in micro-credits (exact
                decimals of credits on the wire).
            events (list['Event']): Every event the transfer wrote, both organisations' (expiries it
                caused included), the sender's first.
            from_ (str): The sending organisation.
            received (Event): One immutable entry of an organisation's credit history.

                `amount` is the signed change the event makes: for grants, purchases,
                vouchers, subscription credits, releases, refunds and positive adjustments
                it is what was added to available credits; for holds, usage, expiry and
                negative adjustments what left them; for a debit it is the held credits
                consumed (available does not move). A purchase that is `processing` or
                `failed` carries its amount but moves no balance.
            sent (Event): One immutable entry of an organisation's credit history.

                `amount` is the signed change the event makes: for grants, purchases,
                vouchers, subscription credits, releases, refunds and positive adjustments
                it is what was added to available credits; for holds, usage, expiry and
                negative adjustments what left them; for a debit it is the held credits
                consumed (available does not move). A purchase that is `processing` or
                `failed` carries its amount but moves no balance.
            to (str): The receiving organisation.
            transfer_id (str): `trf_<seq>`: the seq of the sending event; with the sending org, the
                transfer's identity (`hold_id` on both events).
     """

    amount: Union[float, str]
    balance: 'Balance'
    events: list['Event']
    from_: str
    received: 'Event'
    sent: 'Event'
    to: str
    transfer_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.balance import Balance
        from ..models.event import Event
        amount: Union[float, str]
        amount = self.amount

        balance = self.balance.to_dict()

        events = []
        for events_item_data in self.events:
            events_item = events_item_data.to_dict()
            events.append(events_item)



        from_ = self.from_

        received = self.received.to_dict()

        sent = self.sent.to_dict()

        to = self.to

        transfer_id = self.transfer_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "amount": amount,
            "balance": balance,
            "events": events,
            "from": from_,
            "received": received,
            "sent": sent,
            "to": to,
            "transfer_id": transfer_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.balance import Balance
        from ..models.event import Event
        d = dict(src_dict)
        def _parse_amount(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        amount = _parse_amount(d.pop("amount"))


        balance = Balance.from_dict(d.pop("balance"))




        events = []
        _events = d.pop("events")
        for events_item_data in (_events):
            events_item = Event.from_dict(events_item_data)



            events.append(events_item)


        from_ = d.pop("from")

        received = Event.from_dict(d.pop("received"))




        sent = Event.from_dict(d.pop("sent"))




        to = d.pop("to")

        transfer_id = d.pop("transfer_id")

        transfer_view = cls(
            amount=amount,
            balance=balance,
            events=events,
            from_=from_,
            received=received,
            sent=sent,
            to=to,
            transfer_id=transfer_id,
        )


        transfer_view.additional_properties = d
        return transfer_view

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
