from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.cap_view import CapView





T = TypeVar("T", bound="Caps")



@_attrs_define
class Caps:
    """ `GET …/caps`: every spending cap of the organisation.

        Attributes:
            caps (list['CapView']): Members' and keys' caps, as of now.
     """

    caps: list['CapView']
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.cap_view import CapView
        caps = []
        for caps_item_data in self.caps:
            caps_item = caps_item_data.to_dict()
            caps.append(caps_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "caps": caps,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cap_view import CapView
        d = dict(src_dict)
        caps = []
        _caps = d.pop("caps")
        for caps_item_data in (_caps):
            caps_item = CapView.from_dict(caps_item_data)



            caps.append(caps_item)


        caps = cls(
            caps=caps,
        )


        caps.additional_properties = d
        return caps

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
