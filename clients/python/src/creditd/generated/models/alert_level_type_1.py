from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="AlertLevelType1")



@_attrs_define
class AlertLevelType1:
    """ This percent of the plan's period allocation used

        Attributes:
            percent_used (int):
     """

    percent_used: int





    def to_dict(self) -> dict[str, Any]:
        percent_used = self.percent_used


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "percent_used": percent_used,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        percent_used = d.pop("percent_used")

        alert_level_type_1 = cls(
            percent_used=percent_used,
        )

        return alert_level_type_1

