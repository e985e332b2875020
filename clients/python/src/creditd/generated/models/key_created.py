from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from typing import cast, Union

if TYPE_CHECKING:
  from ..models.key_view_member import KeyViewMember
  from ..models.key_view_service import KeyViewService





T = TypeVar("T", bound="KeyCreated")



@_attrs_define
class KeyCreated:
    """ `POST /api/keys`: the key and its secret, shown this once.

        Attributes:
            key (Union['KeyViewMember', 'KeyViewService']): A key as listed (never its secret), with its spending cap.
            note (str): A reminder that the secret is not shown again.
            secret (str): `cdk_…`: send it as `Authorization: Bearer <secret>`.
     """

    key: Union['KeyViewMember', 'KeyViewService']
    note: str
    secret: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.key_view_member import KeyViewMember
        from ..models.key_view_service import KeyViewService
        key: dict[str, Any]
        if isinstance(self.key, KeyViewService):
            key = self.key.to_dict()
        else:
            key = self.key.to_dict()


        note = self.note

        secret = self.secret


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "key": key,
            "note": note,
            "secret": secret,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.key_view_member import KeyViewMember
        from ..models.key_view_service import KeyViewService
        d = dict(src_dict)
        def _parse_key(data: object) -> Union['KeyViewMember', 'KeyViewService']:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_key_view_key_view_service = KeyViewService.from_dict(data)



                return componentsschemas_key_view_key_view_service
            except: # noqa: E722
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_key_view_key_view_member = KeyViewMember.from_dict(data)



            return componentsschemas_key_view_key_view_member

        key = _parse_key(d.pop("key"))


        note = d.pop("note")

        secret = d.pop("secret")

        key_created = cls(
            key=key,
            note=note,
            secret=secret,
        )


        key_created.additional_properties = d
        return key_created

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
