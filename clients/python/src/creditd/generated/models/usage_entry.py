from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="UsageEntry")



@_attrs_define
class UsageEntry:
    """ One group of a usage report.

        Attributes:
            credits_ (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            operations (int): Consuming operations (debits and usage).
            quantity (Union[float, str]): Units of a price (images, 1k tokens, rows), exact to 0.000001
            key (Union[None, Unset, str]): The action, user email, project id, service or price key; a
                `YYYY-MM-DD` day; null for usage that named none.
            name (Union[None, Unset, str]): The user's or project's latest name.
            unit (Union[None, Unset, str]): By price: the price's unit (`image`, `1k tokens`, …).
     """

    credits_: float
    operations: int
    quantity: Union[float, str]
    key: Union[None, Unset, str] = UNSET
    name: Union[None, Unset, str] = UNSET
    unit: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        credits_ = self.credits_

        operations = self.operations

        quantity: Union[float, str]
        quantity = self.quantity

        key: Union[None, Unset, str]
        if isinstance(self.key, Unset):
            key = UNSET
        else:
            key = self.key

        name: Union[None, Unset, str]
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        unit: Union[None, Unset, str]
        if isinstance(self.unit, Unset):
            unit = UNSET
        else:
            unit = self.unit


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "credits": credits_,
            "operations": operations,
            "quantity": quantity,
        })
        if key is not UNSET:
            field_dict["key"] = key
        if name is not UNSET:
            field_dict["name"] = name
        if unit is not UNSET:
            field_dict["unit"] = unit

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        credits_ = d.pop("credits")

        operations = d.pop("operations")

        def _parse_quantity(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        quantity = _parse_quantity(d.pop("quantity"))


        def _parse_key(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        key = _parse_key(d.pop("key", UNSET))


        def _parse_name(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        name = _parse_name(d.pop("name", UNSET))


        def _parse_unit(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        unit = _parse_unit(d.pop("unit", UNSET))


        usage_entry = cls(
            credits_=credits_,
            operations=operations,
            quantity=quantity,
            key=key,
            name=name,
            unit=unit,
        )


        usage_entry.additional_properties = d
        return usage_entry

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
