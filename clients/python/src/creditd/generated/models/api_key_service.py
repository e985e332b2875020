from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.api_key_service_kind import ApiKeyServiceKind
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="ApiKeyService")



@_attrs_define
class ApiKeyService:
    """ A platform backend: every org (`org_ids` null) or the orgs listed.

        Attributes:
            created_at (str):
            id (str): The key's id (shown in lists; not a secret).
            kind (ApiKeyServiceKind):
            name (str): A name to recognise it by ([`check_name`]).
            prefix (str): The first characters of the secret, to recognise a key in a list.
            last_used_at (Union[None, Unset, str]):
            org_ids (Union[None, Unset, list[str]]): The orgs it reaches; `None`: every org.
            revoked_at (Union[None, Unset, str]):
     """

    created_at: str
    id: str
    kind: ApiKeyServiceKind
    name: str
    prefix: str
    last_used_at: Union[None, Unset, str] = UNSET
    org_ids: Union[None, Unset, list[str]] = UNSET
    revoked_at: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at

        id = self.id

        kind = self.kind.value

        name = self.name

        prefix = self.prefix

        last_used_at: Union[None, Unset, str]
        if isinstance(self.last_used_at, Unset):
            last_used_at = UNSET
        else:
            last_used_at = self.last_used_at

        org_ids: Union[None, Unset, list[str]]
        if isinstance(self.org_ids, Unset):
            org_ids = UNSET
        elif isinstance(self.org_ids, list):
            org_ids = self.org_ids


        else:
            org_ids = self.org_ids

        revoked_at: Union[None, Unset, str]
        if isinstance(self.revoked_at, Unset):
            revoked_at = UNSET
        else:
            revoked_at = self.revoked_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "id": id,
            "kind": kind,
            "name": name,
            "prefix": prefix,
        })
        if last_used_at is not UNSET:
            field_dict["last_used_at"] = last_used_at
        if org_ids is not UNSET:
            field_dict["org_ids"] = org_ids
        if revoked_at is not UNSET:
            field_dict["revoked_at"] = revoked_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = d.pop("created_at")

        id = d.pop("id")

        kind = ApiKeyServiceKind(d.pop("kind"))




        name = d.pop("name")

        prefix = d.pop("prefix")

        def _parse_last_used_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        last_used_at = _parse_last_used_at(d.pop("last_used_at", UNSET))


        def _parse_org_ids(data: object) -> Union[None, Unset, list[str]]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                org_ids_type_0 = cast(list[str], data)

                return org_ids_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, list[str]], data)

        org_ids = _parse_org_ids(d.pop("org_ids", UNSET))


        def _parse_revoked_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        revoked_at = _parse_revoked_at(d.pop("revoked_at", UNSET))


        api_key_service = cls(
            created_at=created_at,
            id=id,
            kind=kind,
            name=name,
            prefix=prefix,
            last_used_at=last_used_at,
            org_ids=org_ids,
            revoked_at=revoked_at,
        )


        api_key_service.additional_properties = d
        return api_key_service

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
