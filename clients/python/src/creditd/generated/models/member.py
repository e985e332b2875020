from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.role import Role






T = TypeVar("T", bound="Member")



@_attrs_define
class Member:
    """ A person in an organisation. `email` is unique within the org and stored
    in lower case; `name` need not be unique.

        Attributes:
            created_at (str):
            email (str): Their email, lower case: unique within the org.
            name (str): Their display name ([`check_name`]).
            org_id (str): The organisation.
            role (Role): A member's role in their organisation.
     """

    created_at: str
    email: str
    name: str
    org_id: str
    role: Role
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at

        email = self.email

        name = self.name

        org_id = self.org_id

        role = self.role.value


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "email": email,
            "name": name,
            "org_id": org_id,
            "role": role,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = d.pop("created_at")

        email = d.pop("email")

        name = d.pop("name")

        org_id = d.pop("org_id")

        role = Role(d.pop("role"))




        member = cls(
            created_at=created_at,
            email=email,
            name=name,
            org_id=org_id,
            role=role,
        )


        member.additional_properties = d
        return member

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
