from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.key_view_member_kind import KeyViewMemberKind
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.cap_view import CapView





T = TypeVar("T", bound="KeyViewMember")



@_attrs_define
class KeyViewMember:
    """ A person or their script: acts as that member of that org, with the
    member's role at the time of each request.

        Attributes:
            created_at (str):
            email (str): The member's email.
            id (str): The key's id (shown in lists; not a secret).
            kind (KeyViewMemberKind):
            name (str): A name to recognise it by ([`check_name`]).
            org_id (str): The member's organisation.
            prefix (str): The first characters of the secret, to recognise a key in a list.
            cap (Union['CapView', None, Unset]):
            last_used_at (Union[None, Unset, str]):
            revoked_at (Union[None, Unset, str]):
     """

    created_at: str
    email: str
    id: str
    kind: KeyViewMemberKind
    name: str
    org_id: str
    prefix: str
    cap: Union['CapView', None, Unset] = UNSET
    last_used_at: Union[None, Unset, str] = UNSET
    revoked_at: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.cap_view import CapView
        created_at = self.created_at

        email = self.email

        id = self.id

        kind = self.kind.value

        name = self.name

        org_id = self.org_id

        prefix = self.prefix

        cap: Union[None, Unset, dict[str, Any]]
        if isinstance(self.cap, Unset):
            cap = UNSET
        elif isinstance(self.cap, CapView):
            cap = self.cap.to_dict()
        else:
            cap = self.cap

        last_used_at: Union[None, Unset, str]
        if isinstance(self.last_used_at, Unset):
            last_used_at = UNSET
        else:
            last_used_at = self.last_used_at

        revoked_at: Union[None, Unset, str]
        if isinstance(self.revoked_at, Unset):
            revoked_at = UNSET
        else:
            revoked_at = self.revoked_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "email": email,
            "id": id,
            "kind": kind,
            "name": name,
            "org_id": org_id,
            "prefix": prefix,
        })
        if cap is not UNSET:
            field_dict["cap"] = cap
        if last_used_at is not UNSET:
            field_dict["last_used_at"] = last_used_at
        if revoked_at is not UNSET:
            field_dict["revoked_at"] = revoked_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cap_view import CapView
        d = dict(src_dict)
        created_at = d.pop("created_at")

        email = d.pop("email")

        id = d.pop("id")

        kind = KeyViewMemberKind(d.pop("kind"))




        name = d.pop("name")

        org_id = d.pop("org_id")

        prefix = d.pop("prefix")

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


        def _parse_last_used_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        last_used_at = _parse_last_used_at(d.pop("last_used_at", UNSET))


        def _parse_revoked_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        revoked_at = _parse_revoked_at(d.pop("revoked_at", UNSET))


        key_view_member = cls(
            created_at=created_at,
            email=email,
            id=id,
            kind=kind,
            name=name,
            org_id=org_id,
            prefix=prefix,
            cap=cap,
            last_used_at=last_used_at,
            revoked_at=revoked_at,
        )


        key_view_member.additional_properties = d
        return key_view_member

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
