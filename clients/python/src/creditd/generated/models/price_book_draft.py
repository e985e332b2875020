from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from dateutil.parser import isoparse
from typing import cast
from typing import cast, Union
from typing import Union
import datetime

if TYPE_CHECKING:
  from ..models.price_line import PriceLine





T = TypeVar("T", bound="PriceBookDraft")



@_attrs_define
class PriceBookDraft:
    """ What a `PUT /api/price-books/{id}` body holds: a new version.

        Attributes:
            prices (list['PriceLine']): Its prices, 1 to [`MAX_PRICES`].
            effective_from (Union[None, Unset, datetime.datetime]): When the version starts to apply: now or later (default
                now).
     """

    prices: list['PriceLine']
    effective_from: Union[None, Unset, datetime.datetime] = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.price_line import PriceLine
        prices = []
        for prices_item_data in self.prices:
            prices_item = prices_item_data.to_dict()
            prices.append(prices_item)



        effective_from: Union[None, Unset, str]
        if isinstance(self.effective_from, Unset):
            effective_from = UNSET
        elif isinstance(self.effective_from, datetime.datetime):
            effective_from = self.effective_from.isoformat()
        else:
            effective_from = self.effective_from


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "prices": prices,
        })
        if effective_from is not UNSET:
            field_dict["effective_from"] = effective_from

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.price_line import PriceLine
        d = dict(src_dict)
        prices = []
        _prices = d.pop("prices")
        for prices_item_data in (_prices):
            prices_item = PriceLine.from_dict(prices_item_data)



            prices.append(prices_item)


        def _parse_effective_from(data: object) -> Union[None, Unset, datetime.datetime]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                effective_from_type_0 = isoparse(data)



                return effective_from_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, datetime.datetime], data)

        effective_from = _parse_effective_from(d.pop("effective_from", UNSET))


        price_book_draft = cls(
            prices=prices,
            effective_from=effective_from,
        )

        return price_book_draft

