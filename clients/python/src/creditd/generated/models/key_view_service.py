from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.key_view_service_kind import KeyViewServiceKind
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.cap_view import CapView





T = TypeVar("T", bound="KeyViewService")



@_attrs_define
class KeyViewService:
    """ A platform backend: every org (`org_ids` null) or the orgs listed.

        Attributes:
            created_at (str):
            id (str): The key's id (shown in lists; not a secret).
            kind (KeyViewServiceKind):
            name (str): A name to recognise it by ([`check_name`]).
            prefix (str): The first characters of the secret, to recognise a key in a list.
            cap (Union['CapView', None, Unset]):
            last_used_at (Union[None, Unset, str]):
            org_ids (Union[None, Unset, list[str]]): The orgs it reaches; `None`: every org.
            revoked_at (Union[None, Unset, str]):
     """

    created_at: str
    id: str
    kind: KeyViewServiceKind
    name: str
    prefix: str
    cap: Union['CapView', None, Unset] = UNSET
    last_used_at: Union[None, Unset, str] = UNSET
    org_ids: Union[None, Unset, list[str]] = UNSET
    revoked_at: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.cap_view import CapView
        created_at = self.created_at

        id = self.id

        kind = self.kind.value

        name = self.name

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
        if cap is not UNSET:
            field_dict["cap"] = cap
        if last_used_at is not UNSET:
            field_dict["last_used_at"] = last_used_at
        if org_ids is not UNSET:
            field_dict["org_ids"] = org_ids
        if revoked_at is not UNSET:
            field_dict["revoked_at"] = revoked_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cap_view import CapView
        d = dict(src_dict)
        created_at = d.pop("created_at")

        id = d.pop("id")

        kind = KeyViewServiceKind(d.pop("kind"))




        name = d.pop("name")

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


        key_view_service = cls(
            created_at=created_at,
            id=id,
            kind=kind,
            name=name,
            prefix=prefix,
            cap=cap,
            last_used_at=last_used_at,
            org_ids=org_ids,
            revoked_at=revoked_at,
        )


        key_view_service.additional_properties = d
        return key_view_service

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
