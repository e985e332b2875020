from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="TierPart")



@_attrs_define
class TierPart:
    """ The part of a quantity priced inside one band.

        Attributes:
            credits_per_unit (float): The band's price per unit.
            quantity (float): Units of this operation inside the band.
     """

    credits_per_unit: float
    quantity: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        credits_per_unit = self.credits_per_unit

        quantity = self.quantity


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "credits_per_unit": credits_per_unit,
            "quantity": quantity,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        credits_per_unit = d.pop("credits_per_unit")

        quantity = d.pop("quantity")

        tier_part = cls(
            credits_per_unit=credits_per_unit,
            quantity=quantity,
        )


        tier_part.additional_properties = d
        return tier_part

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
