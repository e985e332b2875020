from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.notification_kind import NotificationKind






T = TypeVar("T", bound="Notification")



@_attrs_define
class Notification:
    """ Something an org should be told about (webhooks deliver these later); the
    `notifications` table is their outbox. Not a credit event.

        Attributes:
            balance (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            created_at (str):
            event_seq (int): The event after which the balance was below (0 when none, e.g. the
                threshold was raised above the balance).
            kind (NotificationKind): What a [`Notification`] tells.
            seq (int): Per-org sequence number, from 1.
            threshold (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
     """

    balance: float
    created_at: str
    event_seq: int
    kind: NotificationKind
    seq: int
    threshold: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        balance = self.balance

        created_at = self.created_at

        event_seq = self.event_seq

        kind = self.kind.value

        seq = self.seq

        threshold = self.threshold


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "balance": balance,
            "created_at": created_at,
            "event_seq": event_seq,
            "kind": kind,
            "seq": seq,
            "threshold": threshold,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        balance = d.pop("balance")

        created_at = d.pop("created_at")

        event_seq = d.pop("event_seq")

        kind = NotificationKind(d.pop("kind"))




        seq = d.pop("seq")

        threshold = d.pop("threshold")

        notification = cls(
            balance=balance,
            created_at=created_at,
            event_seq=event_seq,
            kind=kind,
            seq=seq,
            threshold=threshold,
        )


        notification.additional_properties = d
        return notification

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
