from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from dateutil.parser import isoparse
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.price_line import PriceLine





T = TypeVar("T", bound="PriceBookVersion")



@_attrs_define
class PriceBookVersion:
    """ One immutable version of a price book.

        Attributes:
            book_id (str): The book.
            created_at (datetime.datetime): When it was written.
            effective_from (datetime.datetime): From when it applies.
            prices (list['PriceLine']): Its prices, as validated.
            version (int): 1, 2, … in the order they were written.
     """

    book_id: str
    created_at: datetime.datetime
    effective_from: datetime.datetime
    prices: list['PriceLine']
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.price_line import PriceLine
        book_id = self.book_id

        created_at = self.created_at.isoformat()

        effective_from = self.effective_from.isoformat()

        prices = []
        for prices_item_data in self.prices:
            prices_item = prices_item_data.to_dict()
            prices.append(prices_item)



        version = self.version


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "book_id": book_id,
            "created_at": created_at,
            "effective_from": effective_from,
            "prices": prices,
            "version": version,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.price_line import PriceLine
        d = dict(src_dict)
        book_id = d.pop("book_id")

        created_at = isoparse(d.pop("created_at"))




        effective_from = isoparse(d.pop("effective_from"))




        prices = []
        _prices = d.pop("prices")
        for prices_item_data in (_prices):
            prices_item = PriceLine.from_dict(prices_item_data)



            prices.append(prices_item)


        version = d.pop("version")

        price_book_version = cls(
            book_id=book_id,
            created_at=created_at,
            effective_from=effective_from,
            prices=prices,
            version=version,
        )


        price_book_version.additional_properties = d
        return price_book_version

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
