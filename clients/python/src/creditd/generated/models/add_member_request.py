from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.role import Role
from ..types import UNSET, Unset
from typing import Union






T = TypeVar("T", bound="AddMemberRequest")



@_attrs_define
class AddMemberRequest:
    """ `POST …/members`: `role` defaults to member.

        Attributes:
            email (str): Their sign-in address (normalised).
            name (str): How people see them.
            role (Union[Unset, Role]): A member's role in their organisation.
     """

    email: str
    name: str
    role: Union[Unset, Role] = UNSET





    def to_dict(self) -> dict[str, Any]:
        email = self.email

        name = self.name

        role: Union[Unset, str] = UNSET
        if not isinstance(self.role, Unset):
            role = self.role.value



        field_dict: dict[str, Any] = {}

        field_dict.update({
            "email": email,
            "name": name,
        })
        if role is not UNSET:
            field_dict["role"] = role

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        email = d.pop("email")

        name = d.pop("name")

        _role = d.pop("role", UNSET)
        role: Union[Unset, Role]
        if isinstance(_role,  Unset):
            role = UNSET
        else:
            role = Role(_role)




        add_member_request = cls(
            email=email,
            name=name,
            role=role,
        )

        return add_member_request

