from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.role import Role
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.cap_view import CapView





T = TypeVar("T", bound="MemberView")



@_attrs_define
class MemberView:
    """ A member and their spending cap, if one is set.

        Attributes:
            created_at (str):
            email (str): Their email, lower case: unique within the org.
            name (str): Their display name ([`check_name`]).
            org_id (str): The organisation.
            role (Role): A member's role in their organisation.
            cap (Union['CapView', None, Unset]):
     """

    created_at: str
    email: str
    name: str
    org_id: str
    role: Role
    cap: Union['CapView', None, Unset] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.cap_view import CapView
        created_at = self.created_at

        email = self.email

        name = self.name

        org_id = self.org_id

        role = self.role.value

        cap: Union[None, Unset, dict[str, Any]]
        if isinstance(self.cap, Unset):
            cap = UNSET
        elif isinstance(self.cap, CapView):
            cap = self.cap.to_dict()
        else:
            cap = self.cap


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "email": email,
            "name": name,
            "org_id": org_id,
            "role": role,
        })
        if cap is not UNSET:
            field_dict["cap"] = cap

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cap_view import CapView
        d = dict(src_dict)
        created_at = d.pop("created_at")

        email = d.pop("email")

        name = d.pop("name")

        org_id = d.pop("org_id")

        role = Role(d.pop("role"))




        def _parse_cap(data: object) -> Union['CapView', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                cap_type_1 = CapView.from_dict(data)



                return cap_type_1
            except: # noqa: E722
                pass
            return cast(Union['CapView', None, Unset], data)

        cap = _parse_cap(d.pop("cap", UNSET))


        member_view = cls(
            created_at=created_at,
            email=email,
            name=name,
            org_id=org_id,
            role=role,
            cap=cap,
        )


        member_view.additional_properties = d
        return member_view

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
