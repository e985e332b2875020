from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.price_book import PriceBook





T = TypeVar("T", bound="PriceBookList")



@_attrs_define
class PriceBookList:
    """ `GET /api/price-books`: every book with its versions.

        Attributes:
            price_books (list['PriceBook']): In id order.
     """

    price_books: list['PriceBook']
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.price_book import PriceBook
        price_books = []
        for price_books_item_data in self.price_books:
            price_books_item = price_books_item_data.to_dict()
            price_books.append(price_books_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "price_books": price_books,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.price_book import PriceBook
        d = dict(src_dict)
        price_books = []
        _price_books = d.pop("price_books")
        for price_books_item_data in (_price_books):
            price_books_item = PriceBook.from_dict(price_books_item_data)



            price_books.append(price_books_item)


        price_book_list = cls(
            price_books=price_books,
        )


        price_book_list.additional_properties = d
        return price_book_list

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
