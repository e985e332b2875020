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





T = TypeVar("T", bound="Keys")



@_attrs_define
class Keys:
    """ `GET /api/keys`: the keys the caller may see.

        Attributes:
            keys (list[Union['KeyViewMember', 'KeyViewService']]): Never their secrets.
     """

    keys: list[Union['KeyViewMember', 'KeyViewService']]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.key_view_member import KeyViewMember
        from ..models.key_view_service import KeyViewService
        keys = []
        for keys_item_data in self.keys:
            keys_item: dict[str, Any]
            if isinstance(keys_item_data, KeyViewService):
                keys_item = keys_item_data.to_dict()
            else:
                keys_item = keys_item_data.to_dict()

            keys.append(keys_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "keys": keys,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.key_view_member import KeyViewMember
        from ..models.key_view_service import KeyViewService
        d = dict(src_dict)
        keys = []
        _keys = d.pop("keys")
        for keys_item_data in (_keys):
            def _parse_keys_item(data: object) -> Union['KeyViewMember', 'KeyViewService']:
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

            keys_item = _parse_keys_item(keys_item_data)

            keys.append(keys_item)


        keys = cls(
            keys=keys,
        )


        keys.additional_properties = d
        return keys

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
