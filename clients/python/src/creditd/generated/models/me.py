from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.key_kind import KeyKind
from ..models.role import Role
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.own_usage import OwnUsage
  from ..models.cap_view import CapView





T = TypeVar("T", bound="Me")



@_attrs_define
class Me:
    """ `GET …/me`. The member fields are there for a member only, the CSRF
    token for a dashboard session only.

        Attributes:
            caps (list['CapView']): The caps on the caller (their key, their membership).
            kind (KeyKind): Whose a key is: a platform's (service) or a member's.
            org_id (str): The organisation asked about.
            csrf_token (Union[None, Unset, str]): The session's CSRF token (dashboard sessions only).
            email (Union[None, Unset, str]): The member's email (members only).
            key_id (Union[None, Unset, str]): The stored key used; null for the bootstrap key and sessions.
            name (Union[None, Unset, str]): The member's name (members only).
            role (Union[None, Role, Unset]):
            usage_this_period (Union['OwnUsage', None, Unset]):
     """

    caps: list['CapView']
    kind: KeyKind
    org_id: str
    csrf_token: Union[None, Unset, str] = UNSET
    email: Union[None, Unset, str] = UNSET
    key_id: Union[None, Unset, str] = UNSET
    name: Union[None, Unset, str] = UNSET
    role: Union[None, Role, Unset] = UNSET
    usage_this_period: Union['OwnUsage', None, Unset] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.own_usage import OwnUsage
        from ..models.cap_view import CapView
        caps = []
        for caps_item_data in self.caps:
            caps_item = caps_item_data.to_dict()
            caps.append(caps_item)



        kind = self.kind.value

        org_id = self.org_id

        csrf_token: Union[None, Unset, str]
        if isinstance(self.csrf_token, Unset):
            csrf_token = UNSET
        else:
            csrf_token = self.csrf_token

        email: Union[None, Unset, str]
        if isinstance(self.email, Unset):
            email = UNSET
        else:
            email = self.email

        key_id: Union[None, Unset, str]
        if isinstance(self.key_id, Unset):
            key_id = UNSET
        else:
            key_id = self.key_id

        name: Union[None, Unset, str]
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        role: Union[None, Unset, str]
        if isinstance(self.role, Unset):
            role = UNSET
        elif isinstance(self.role, Role):
            role = self.role.value
        else:
            role = self.role

        usage_this_period: Union[None, Unset, dict[str, Any]]
        if isinstance(self.usage_this_period, Unset):
            usage_this_period = UNSET
        elif isinstance(self.usage_this_period, OwnUsage):
            usage_this_period = self.usage_this_period.to_dict()
        else:
            usage_this_period = self.usage_this_period


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "caps": caps,
            "kind": kind,
            "org_id": org_id,
        })
        if csrf_token is not UNSET:
            field_dict["csrf_token"] = csrf_token
        if email is not UNSET:
            field_dict["email"] = email
        if key_id is not UNSET:
            field_dict["key_id"] = key_id
        if name is not UNSET:
            field_dict["name"] = name
        if role is not UNSET:
            field_dict["role"] = role
        if usage_this_period is not UNSET:
            field_dict["usage_this_period"] = usage_this_period

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.own_usage import OwnUsage
        from ..models.cap_view import CapView
        d = dict(src_dict)
        caps = []
        _caps = d.pop("caps")
        for caps_item_data in (_caps):
            caps_item = CapView.from_dict(caps_item_data)



            caps.append(caps_item)


        kind = KeyKind(d.pop("kind"))




        org_id = d.pop("org_id")

        def _parse_csrf_token(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        csrf_token = _parse_csrf_token(d.pop("csrf_token", UNSET))


        def _parse_email(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        email = _parse_email(d.pop("email", UNSET))


        def _parse_key_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        key_id = _parse_key_id(d.pop("key_id", UNSET))


        def _parse_name(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        name = _parse_name(d.pop("name", UNSET))


        def _parse_role(data: object) -> Union[None, Role, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                role_type_1 = Role(data)



                return role_type_1
            except: # noqa: E722
                pass
            return cast(Union[None, Role, Unset], data)

        role = _parse_role(d.pop("role", UNSET))


        def _parse_usage_this_period(data: object) -> Union['OwnUsage', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                usage_this_period_type_1 = OwnUsage.from_dict(data)



                return usage_this_period_type_1
            except: # noqa: E722
                pass
            return cast(Union['OwnUsage', None, Unset], data)

        usage_this_period = _parse_usage_this_period(d.pop("usage_this_period", UNSET))


        me = cls(
            caps=caps,
            kind=kind,
            org_id=org_id,
            csrf_token=csrf_token,
            email=email,
            key_id=key_id,
            name=name,
            role=role,
            usage_this_period=usage_this_period,
        )


        me.additional_properties = d
        return me

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
