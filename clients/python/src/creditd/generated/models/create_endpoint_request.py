from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.webhook_type_name import WebhookTypeName
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="CreateEndpointRequest")



@_attrs_define
class CreateEndpointRequest:
    """ `POST …/webhooks`: where to send, which types (absent: every type),
    and a note for people.

        Attributes:
            url (str): An absolute http(s) URL on a public address.
            description (Union[None, Unset, str]): At most 500 characters.
            event_types (Union[None, Unset, list[WebhookTypeName]]): The types it wants, at least one; absent: every type.
     """

    url: str
    description: Union[None, Unset, str] = UNSET
    event_types: Union[None, Unset, list[WebhookTypeName]] = UNSET





    def to_dict(self) -> dict[str, Any]:
        url = self.url

        description: Union[None, Unset, str]
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        event_types: Union[None, Unset, list[str]]
        if isinstance(self.event_types, Unset):
            event_types = UNSET
        elif isinstance(self.event_types, list):
            event_types = []
            for event_types_type_0_item_data in self.event_types:
                event_types_type_0_item = event_types_type_0_item_data.value
                event_types.append(event_types_type_0_item)


        else:
            event_types = self.event_types


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "url": url,
        })
        if description is not UNSET:
            field_dict["description"] = description
        if event_types is not UNSET:
            field_dict["event_types"] = event_types

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        url = d.pop("url")

        def _parse_description(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        description = _parse_description(d.pop("description", UNSET))


        def _parse_event_types(data: object) -> Union[None, Unset, list[WebhookTypeName]]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                event_types_type_0 = []
                _event_types_type_0 = data
                for event_types_type_0_item_data in (_event_types_type_0):
                    event_types_type_0_item = WebhookTypeName(event_types_type_0_item_data)



                    event_types_type_0.append(event_types_type_0_item)

                return event_types_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, list[WebhookTypeName]], data)

        event_types = _parse_event_types(d.pop("event_types", UNSET))


        create_endpoint_request = cls(
            url=url,
            description=description,
            event_types=event_types,
        )

        return create_endpoint_request

