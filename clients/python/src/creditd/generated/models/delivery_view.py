from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.delivery_status_name import DeliveryStatusName
from ..models.webhook_type_name import WebhookTypeName
from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="DeliveryView")



@_attrs_define
class DeliveryView:
    """ One message to one endpoint, as operators see it
    ([`creditd_store::webhooks::Delivery`], field for field).

        Attributes:
            attempts (int): Attempts made.
            created_at (str):
            endpoint_id (str): The endpoint it goes to.
            event_seq (int): The credit event (or notification) it was made from.
            message_id (str): The message id, the same on every attempt: receivers deduplicate by it.
            status (DeliveryStatusName):
            type_ (WebhookTypeName):
            delivered_at (Union[None, Unset, str]):
            last_attempt_at (Union[None, Unset, str]):
            last_error (Union[None, Unset, str]): Why the last attempt failed (one class for every network failure).
            last_status (Union[None, Unset, int]): The last answer's HTTP status, if there was one.
            next_attempt_at (Union[None, Unset, str]):
     """

    attempts: int
    created_at: str
    endpoint_id: str
    event_seq: int
    message_id: str
    status: DeliveryStatusName
    type_: WebhookTypeName
    delivered_at: Union[None, Unset, str] = UNSET
    last_attempt_at: Union[None, Unset, str] = UNSET
    last_error: Union[None, Unset, str] = UNSET
    last_status: Union[None, Unset, int] = UNSET
    next_attempt_at: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        attempts = self.attempts

        created_at = self.created_at

        endpoint_id = self.endpoint_id

        event_seq = self.event_seq

        message_id = self.message_id

        status = self.status.value

        type_ = self.type_.value

        delivered_at: Union[None, Unset, str]
        if isinstance(self.delivered_at, Unset):
            delivered_at = UNSET
        else:
            delivered_at = self.delivered_at

        last_attempt_at: Union[None, Unset, str]
        if isinstance(self.last_attempt_at, Unset):
            last_attempt_at = UNSET
        else:
            last_attempt_at = self.last_attempt_at

        last_error: Union[None, Unset, str]
        if isinstance(self.last_error, Unset):
            last_error = UNSET
        else:
            last_error = self.last_error

        last_status: Union[None, Unset, int]
        if isinstance(self.last_status, Unset):
            last_status = UNSET
        else:
            last_status = self.last_status

        next_attempt_at: Union[None, Unset, str]
        if isinstance(self.next_attempt_at, Unset):
            next_attempt_at = UNSET
        else:
            next_attempt_at = self.next_attempt_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "attempts": attempts,
            "created_at": created_at,
            "endpoint_id": endpoint_id,
            "event_seq": event_seq,
            "message_id": message_id,
            "status": status,
            "type": type_,
        })
        if delivered_at is not UNSET:
            field_dict["delivered_at"] = delivered_at
        if last_attempt_at is not UNSET:
            field_dict["last_attempt_at"] = last_attempt_at
        if last_error is not UNSET:
            field_dict["last_error"] = last_error
        if last_status is not UNSET:
            field_dict["last_status"] = last_status
        if next_attempt_at is not UNSET:
            field_dict["next_attempt_at"] = next_attempt_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        attempts = d.pop("attempts")

        created_at = d.pop("created_at")

        endpoint_id = d.pop("endpoint_id")

        event_seq = d.pop("event_seq")

        message_id = d.pop("message_id")

        status = DeliveryStatusName(d.pop("status"))




        type_ = WebhookTypeName(d.pop("type"))




        def _parse_delivered_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        delivered_at = _parse_delivered_at(d.pop("delivered_at", UNSET))


        def _parse_last_attempt_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        last_attempt_at = _parse_last_attempt_at(d.pop("last_attempt_at", UNSET))


        def _parse_last_error(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        last_error = _parse_last_error(d.pop("last_error", UNSET))


        def _parse_last_status(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        last_status = _parse_last_status(d.pop("last_status", UNSET))


        def _parse_next_attempt_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at", UNSET))


        delivery_view = cls(
            attempts=attempts,
            created_at=created_at,
            endpoint_id=endpoint_id,
            event_seq=event_seq,
            message_id=message_id,
            status=status,
            type_=type_,
            delivered_at=delivered_at,
            last_attempt_at=last_attempt_at,
            last_error=last_error,
            last_status=last_status,
            next_attempt_at=next_attempt_at,
        )


        delivery_view.additional_properties = d
        return delivery_view

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
