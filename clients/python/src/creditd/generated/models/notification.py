from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.notification_kind import NotificationKind
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.alert_level_type_1 import AlertLevelType1
  from ..models.alert_level_type_0 import AlertLevelType0





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
            allocation (Union[None, Unset, float]):
            amount (Union[None, Unset, float]):
            level (Union['AlertLevelType0', 'AlertLevelType1', None, Unset]):
            period_usage (Union[None, Unset, float]):
            purchase_id (Union[None, Unset, str]): An auto top-up: the purchase requested (`top_up_requested`) or the
                last one that failed (`top_up_paused`).
            reason (Union[None, Unset, str]): Auto top-up paused: why.
     """

    balance: float
    created_at: str
    event_seq: int
    kind: NotificationKind
    seq: int
    threshold: float
    allocation: Union[None, Unset, float] = UNSET
    amount: Union[None, Unset, float] = UNSET
    level: Union['AlertLevelType0', 'AlertLevelType1', None, Unset] = UNSET
    period_usage: Union[None, Unset, float] = UNSET
    purchase_id: Union[None, Unset, str] = UNSET
    reason: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.alert_level_type_1 import AlertLevelType1
        from ..models.alert_level_type_0 import AlertLevelType0
        balance = self.balance

        created_at = self.created_at

        event_seq = self.event_seq

        kind = self.kind.value

        seq = self.seq

        threshold = self.threshold

        allocation: Union[None, Unset, float]
        if isinstance(self.allocation, Unset):
            allocation = UNSET
        else:
            allocation = self.allocation

        amount: Union[None, Unset, float]
        if isinstance(self.amount, Unset):
            amount = UNSET
        else:
            amount = self.amount

        level: Union[None, Unset, dict[str, Any]]
        if isinstance(self.level, Unset):
            level = UNSET
        elif isinstance(self.level, AlertLevelType0):
            level = self.level.to_dict()
        elif isinstance(self.level, AlertLevelType1):
            level = self.level.to_dict()
        else:
            level = self.level

        period_usage: Union[None, Unset, float]
        if isinstance(self.period_usage, Unset):
            period_usage = UNSET
        else:
            period_usage = self.period_usage

        purchase_id: Union[None, Unset, str]
        if isinstance(self.purchase_id, Unset):
            purchase_id = UNSET
        else:
            purchase_id = self.purchase_id

        reason: Union[None, Unset, str]
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason


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
        if allocation is not UNSET:
            field_dict["allocation"] = allocation
        if amount is not UNSET:
            field_dict["amount"] = amount
        if level is not UNSET:
            field_dict["level"] = level
        if period_usage is not UNSET:
            field_dict["period_usage"] = period_usage
        if purchase_id is not UNSET:
            field_dict["purchase_id"] = purchase_id
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.alert_level_type_1 import AlertLevelType1
        from ..models.alert_level_type_0 import AlertLevelType0
        d = dict(src_dict)
        balance = d.pop("balance")

        created_at = d.pop("created_at")

        event_seq = d.pop("event_seq")

        kind = NotificationKind(d.pop("kind"))




        seq = d.pop("seq")

        threshold = d.pop("threshold")

        def _parse_allocation(data: object) -> Union[None, Unset, float]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float], data)

        allocation = _parse_allocation(d.pop("allocation", UNSET))


        def _parse_amount(data: object) -> Union[None, Unset, float]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float], data)

        amount = _parse_amount(d.pop("amount", UNSET))


        def _parse_level(data: object) -> Union['AlertLevelType0', 'AlertLevelType1', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_alert_level_type_0 = AlertLevelType0.from_dict(data)



                return componentsschemas_alert_level_type_0
            except: # noqa: E722
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_alert_level_type_1 = AlertLevelType1.from_dict(data)



                return componentsschemas_alert_level_type_1
            except: # noqa: E722
                pass
            return cast(Union['AlertLevelType0', 'AlertLevelType1', None, Unset], data)

        level = _parse_level(d.pop("level", UNSET))


        def _parse_period_usage(data: object) -> Union[None, Unset, float]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float], data)

        period_usage = _parse_period_usage(d.pop("period_usage", UNSET))


        def _parse_purchase_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        purchase_id = _parse_purchase_id(d.pop("purchase_id", UNSET))


        def _parse_reason(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        reason = _parse_reason(d.pop("reason", UNSET))


        notification = cls(
            balance=balance,
            created_at=created_at,
            event_seq=event_seq,
            kind=kind,
            seq=seq,
            threshold=threshold,
            allocation=allocation,
            amount=amount,
            level=level,
            period_usage=period_usage,
            purchase_id=purchase_id,
            reason=reason,
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
