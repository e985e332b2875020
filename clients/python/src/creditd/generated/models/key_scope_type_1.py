from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.key_scope_type_1_kind import KeyScopeType1Kind






T = TypeVar("T", bound="KeyScopeType1")



@_attrs_define
class KeyScopeType1:
    """ A person or their script: acts as that member of that org, with the
    member's role at the time of each request.

        Attributes:
            email (str): The member's email.
            kind (KeyScopeType1Kind):
            org_id (str): The member's organisation.
     """

    email: str
    kind: KeyScopeType1Kind
    org_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        email = self.email

        kind = self.kind.value

        org_id = self.org_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "email": email,
            "kind": kind,
            "org_id": org_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        email = d.pop("email")

        kind = KeyScopeType1Kind(d.pop("kind"))




        org_id = d.pop("org_id")

        key_scope_type_1 = cls(
            email=email,
            kind=kind,
            org_id=org_id,
        )


        key_scope_type_1.additional_properties = d
        return key_scope_type_1

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
