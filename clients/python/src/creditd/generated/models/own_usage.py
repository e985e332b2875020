from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="OwnUsage")



@_attrs_define
class OwnUsage:
    """ A member's own consumption this period: debits and usage less refunds.

        Attributes:
            consumed (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            period_end (str):
            period_start (str):
     """

    consumed: float
    period_end: str
    period_start: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        consumed = self.consumed

        period_end = self.period_end

        period_start = self.period_start


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "consumed": consumed,
            "period_end": period_end,
            "period_start": period_start,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        consumed = d.pop("consumed")

        period_end = d.pop("period_end")

        period_start = d.pop("period_start")

        own_usage = cls(
            consumed=consumed,
            period_end=period_end,
            period_start=period_start,
        )


        own_usage.additional_properties = d
        return own_usage

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
