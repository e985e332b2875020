from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.price_book_version import PriceBookVersion





T = TypeVar("T", bound="PriceBook")



@_attrs_define
class PriceBook:
    """ A price book: every version written, in version order.

        Attributes:
            id (str): The book's id.
            versions (list['PriceBookVersion']): Versions 1, 2, … (never changed once written).
     """

    id: str
    versions: list['PriceBookVersion']
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.price_book_version import PriceBookVersion
        id = self.id

        versions = []
        for versions_item_data in self.versions:
            versions_item = versions_item_data.to_dict()
            versions.append(versions_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "versions": versions,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.price_book_version import PriceBookVersion
        d = dict(src_dict)
        id = d.pop("id")

        versions = []
        _versions = d.pop("versions")
        for versions_item_data in (_versions):
            versions_item = PriceBookVersion.from_dict(versions_item_data)



            versions.append(versions_item)


        price_book = cls(
            id=id,
            versions=versions,
        )


        price_book.additional_properties = d
        return price_book

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
