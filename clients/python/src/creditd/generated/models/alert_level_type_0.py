from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast, Union






T = TypeVar("T", bound="AlertLevelType0")



@_attrs_define
class AlertLevelType0:
    """ Available credits below this amount

        Attributes:
            available_below (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
     """

    available_below: Union[float, str]





    def to_dict(self) -> dict[str, Any]:
        available_below: Union[float, str]
        available_below = self.available_below


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "available_below": available_below,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_available_below(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        available_below = _parse_available_below(d.pop("available_below"))


        alert_level_type_0 = cls(
            available_below=available_below,
        )

        return alert_level_type_0

