from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.key_scope_type_0_kind import KeyScopeType0Kind
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="KeyScopeType0")



@_attrs_define
class KeyScopeType0:
    """ A platform backend: every org (`org_ids` null) or the orgs listed.

        Attributes:
            kind (KeyScopeType0Kind):
            org_ids (Union[None, Unset, list[str]]): The orgs it reaches; `None`: every org.
     """

    kind: KeyScopeType0Kind
    org_ids: Union[None, Unset, list[str]] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        org_ids: Union[None, Unset, list[str]]
        if isinstance(self.org_ids, Unset):
            org_ids = UNSET
        elif isinstance(self.org_ids, list):
            org_ids = self.org_ids


        else:
            org_ids = self.org_ids


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "kind": kind,
        })
        if org_ids is not UNSET:
            field_dict["org_ids"] = org_ids

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = KeyScopeType0Kind(d.pop("kind"))




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


        key_scope_type_0 = cls(
            kind=kind,
            org_ids=org_ids,
        )


        key_scope_type_0.additional_properties = d
        return key_scope_type_0

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
