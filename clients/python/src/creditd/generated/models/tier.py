from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="Tier")



@_attrs_define
class Tier:
    """ One band of a graduated price.

        Attributes:
            credits_per_unit (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            up_to (Union[None, Unset, float, str]):
     """

    credits_per_unit: Union[float, str]
    up_to: Union[None, Unset, float, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        credits_per_unit: Union[float, str]
        credits_per_unit = self.credits_per_unit

        up_to: Union[None, Unset, float, str]
        if isinstance(self.up_to, Unset):
            up_to = UNSET
        else:
            up_to = self.up_to


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "credits_per_unit": credits_per_unit,
        })
        if up_to is not UNSET:
            field_dict["up_to"] = up_to

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_credits_per_unit(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        credits_per_unit = _parse_credits_per_unit(d.pop("credits_per_unit"))


        def _parse_up_to(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        up_to = _parse_up_to(d.pop("up_to", UNSET))


        tier = cls(
            credits_per_unit=credits_per_unit,
            up_to=up_to,
        )

        return tier

