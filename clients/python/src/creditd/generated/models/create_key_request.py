from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.key_kind import KeyKind
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="CreateKeyRequest")



@_attrs_define
class CreateKeyRequest:
    """ `POST /api/keys`: a service key (`org_ids`, or every org) or a
    member key (`org_id` and `email`).

        Attributes:
            kind (KeyKind): Whose a key is: a platform's (service) or a member's.
            email (Union[None, Unset, str]): Member keys: the member's email.
            name (Union[None, Unset, str]): For people; default "service key" or "member key".
            org_id (Union[None, Unset, str]): Member keys: whose.
            org_ids (Union[None, Unset, list[str]]): Service keys: the orgs reached (1 to 1000); absent: every org.
     """

    kind: KeyKind
    email: Union[None, Unset, str] = UNSET
    name: Union[None, Unset, str] = UNSET
    org_id: Union[None, Unset, str] = UNSET
    org_ids: Union[None, Unset, list[str]] = UNSET





    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        email: Union[None, Unset, str]
        if isinstance(self.email, Unset):
            email = UNSET
        else:
            email = self.email

        name: Union[None, Unset, str]
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        org_id: Union[None, Unset, str]
        if isinstance(self.org_id, Unset):
            org_id = UNSET
        else:
            org_id = self.org_id

        org_ids: Union[None, Unset, list[str]]
        if isinstance(self.org_ids, Unset):
            org_ids = UNSET
        elif isinstance(self.org_ids, list):
            org_ids = self.org_ids


        else:
            org_ids = self.org_ids


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "kind": kind,
        })
        if email is not UNSET:
            field_dict["email"] = email
        if name is not UNSET:
            field_dict["name"] = name
        if org_id is not UNSET:
            field_dict["org_id"] = org_id
        if org_ids is not UNSET:
            field_dict["org_ids"] = org_ids

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = KeyKind(d.pop("kind"))




        def _parse_email(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        email = _parse_email(d.pop("email", UNSET))


        def _parse_name(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        name = _parse_name(d.pop("name", UNSET))


        def _parse_org_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        org_id = _parse_org_id(d.pop("org_id", UNSET))


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


        create_key_request = cls(
            kind=kind,
            email=email,
            name=name,
            org_id=org_id,
            org_ids=org_ids,
        )

        return create_key_request

