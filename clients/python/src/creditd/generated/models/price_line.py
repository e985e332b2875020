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
  from ..models.price_line_dimensions import PriceLineDimensions
  from ..models.tier import Tier





T = TypeVar("T", bound="PriceLine")



@_attrs_define
class PriceLine:
    """ One price of a book: what a request names with `price` (and
    `dimensions`).

        Attributes:
            activity (str): The activity its events are filed under (the report's action).
            key (str): What callers name (`image_generation`): 1–64 letters, digits, `-`,
                `_`, `.`.
            service (str): The service its events are filed under (history, analytics).
            unit (str): What one unit is (`image`, `1k tokens`, `row`).
            credits_per_unit (Union[None, Unset, float, str]):
            dimensions (Union[Unset, PriceLineDimensions]): Selects among the lines of one key (`{"model": "large"}`);
                absent or
                empty: the key's default line.
            tiers (Union[None, Unset, list['Tier']]): Graduated bands over the org's quantity of this line in the current
                period; exactly one of this and `credits_per_unit`.
     """

    activity: str
    key: str
    service: str
    unit: str
    credits_per_unit: Union[None, Unset, float, str] = UNSET
    dimensions: Union[Unset, 'PriceLineDimensions'] = UNSET
    tiers: Union[None, Unset, list['Tier']] = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.price_line_dimensions import PriceLineDimensions
        from ..models.tier import Tier
        activity = self.activity

        key = self.key

        service = self.service

        unit = self.unit

        credits_per_unit: Union[None, Unset, float, str]
        if isinstance(self.credits_per_unit, Unset):
            credits_per_unit = UNSET
        else:
            credits_per_unit = self.credits_per_unit

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


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "activity": activity,
            "key": key,
            "service": service,
            "unit": unit,
        })
        if credits_per_unit is not UNSET:
            field_dict["credits_per_unit"] = credits_per_unit
        if dimensions is not UNSET:
            field_dict["dimensions"] = dimensions
        if tiers is not UNSET:
            field_dict["tiers"] = tiers

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.price_line_dimensions import PriceLineDimensions
        from ..models.tier import Tier
        d = dict(src_dict)
        activity = d.pop("activity")

        key = d.pop("key")

        service = d.pop("service")

        unit = d.pop("unit")

        def _parse_credits_per_unit(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        credits_per_unit = _parse_credits_per_unit(d.pop("credits_per_unit", UNSET))


        _dimensions = d.pop("dimensions", UNSET)
        dimensions: Union[Unset, PriceLineDimensions]
        if isinstance(_dimensions,  Unset):
            dimensions = UNSET
        else:
            dimensions = PriceLineDimensions.from_dict(_dimensions)




        def _parse_tiers(data: object) -> Union[None, Unset, list['Tier']]:
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
                    tiers_type_0_item = Tier.from_dict(tiers_type_0_item_data)



                    tiers_type_0.append(tiers_type_0_item)

                return tiers_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, list['Tier']], data)

        tiers = _parse_tiers(d.pop("tiers", UNSET))


        price_line = cls(
            activity=activity,
            key=key,
            service=service,
            unit=unit,
            credits_per_unit=credits_per_unit,
            dimensions=dimensions,
            tiers=tiers,
        )

        return price_line

