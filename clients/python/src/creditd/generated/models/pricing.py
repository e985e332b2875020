from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.tier_part import TierPart
  from ..models.pricing_dimensions import PricingDimensions





T = TypeVar("T", bound="Pricing")



@_attrs_define
class Pricing:
    """ What a priced event keeps about its price (`pricing` on the event and
    on a priced hold's record): the line, the quantity and what each unit
    cost, and the book version that priced it.

        Attributes:
            price_book (str): The book.
            price_key (str): The price's key.
            quantity (Union[float, str]): Units of a price (images, 1k tokens, rows), exact to 0.000001
            unit (str): What one unit is.
            version (int): The book's version that priced it.
            dimensions (Union[Unset, PricingDimensions]): The dimensions of the line (empty: the key's default line).
            tiers (Union[None, Unset, list['TierPart']]): A graduated price: the units priced in each band touched.
            unit_price (Union[None, Unset, float, str]):
     """

    price_book: str
    price_key: str
    quantity: Union[float, str]
    unit: str
    version: int
    dimensions: Union[Unset, 'PricingDimensions'] = UNSET
    tiers: Union[None, Unset, list['TierPart']] = UNSET
    unit_price: Union[None, Unset, float, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.tier_part import TierPart
        from ..models.pricing_dimensions import PricingDimensions
        price_book = self.price_book

        price_key = self.price_key

        quantity: Union[float, str]
        quantity = self.quantity

        unit = self.unit

        version = self.version

        dimensions: Union[Unset, dict[str, Any]] = UNSET
        if not isinstance(self.dimensions, Unset):
            dimensions = self.dimensions.to_dict()

        tiers: Union[None, Unset, list[dict[str, Any]]]
        if isinstance(self.tiers, Unset):
            tiers = UNSET
        elif isinstance(self.tiers, list):
            tiers = []
            for tiers_type_0_item_data in self.tiers:
                tiers_type_0_item = tiers_type_0_item_data.to_dict()
                tiers.append(tiers_type_0_item)


        else:
            tiers = self.tiers

        unit_price: Union[None, Unset, float, str]
        if isinstance(self.unit_price, Unset):
            unit_price = UNSET
        else:
            unit_price = self.unit_price


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "price_book": price_book,
            "price_key": price_key,
            "quantity": quantity,
            "unit": unit,
            "version": version,
        })
        if dimensions is not UNSET:
            field_dict["dimensions"] = dimensions
        if tiers is not UNSET:
            field_dict["tiers"] = tiers
        if unit_price is not UNSET:
            field_dict["unit_price"] = unit_price

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tier_part import TierPart
        from ..models.pricing_dimensions import PricingDimensions
        d = dict(src_dict)
        price_book = d.pop("price_book")

        price_key = d.pop("price_key")

        def _parse_quantity(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        quantity = _parse_quantity(d.pop("quantity"))


        unit = d.pop("unit")

        version = d.pop("version")

        _dimensions = d.pop("dimensions", UNSET)
        dimensions: Union[Unset, PricingDimensions]
        if isinstance(_dimensions,  Unset):
            dimensions = UNSET
        else:
            dimensions = PricingDimensions.from_dict(_dimensions)




        def _parse_tiers(data: object) -> Union[None, Unset, list['TierPart']]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                tiers_type_0 = []
                _tiers_type_0 = data
                for tiers_type_0_item_data in (_tiers_type_0):
                    tiers_type_0_item = TierPart.from_dict(tiers_type_0_item_data)



                    tiers_type_0.append(tiers_type_0_item)

                return tiers_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, list['TierPart']], data)

        tiers = _parse_tiers(d.pop("tiers", UNSET))


        def _parse_unit_price(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        unit_price = _parse_unit_price(d.pop("unit_price", UNSET))


        pricing = cls(
            price_book=price_book,
            price_key=price_key,
            quantity=quantity,
            unit=unit,
            version=version,
            dimensions=dimensions,
            tiers=tiers,
            unit_price=unit_price,
        )

        return pricing

