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






T = TypeVar("T", bound="EndpointView")



@_attrs_define
class EndpointView:
    """ An endpoint as shown after its creation: never the secret, only its
    first characters.

        Attributes:
            created_at (str):
            id (str): `whe_…`.
            org_id (str): The organisation it belongs to.
            secret_prefix (str): Enough of the signing secret to recognise it.
            url (str): Where messages are POSTed.
            description (Union[None, Unset, str]): A note for people.
            event_types (Union[None, Unset, list[WebhookTypeName]]): The types it wants; null: every type.
     """

    created_at: str
    id: str
    org_id: str
    secret_prefix: str
    url: str
    description: Union[None, Unset, str] = UNSET
    event_types: Union[None, Unset, list[WebhookTypeName]] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at

        id = self.id

        org_id = self.org_id

        secret_prefix = self.secret_prefix

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
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "id": id,
            "org_id": org_id,
            "secret_prefix": secret_prefix,
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
        created_at = d.pop("created_at")

        id = d.pop("id")

        org_id = d.pop("org_id")

        secret_prefix = d.pop("secret_prefix")

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


        endpoint_view = cls(
            created_at=created_at,
            id=id,
            org_id=org_id,
            secret_prefix=secret_prefix,
            url=url,
            description=description,
            event_types=event_types,
        )


        endpoint_view.additional_properties = d
        return endpoint_view

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
