from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="FreePools")



@_attrs_define
class FreePools:
    """ The plan, voucher and promotional pools right after an event, in
    micro-credits.

        Attributes:
            plan (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            promotional (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            voucher (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
     """

    plan: float
    promotional: float
    voucher: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        plan = self.plan

        promotional = self.promotional

        voucher = self.voucher


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "plan": plan,
            "promotional": promotional,
            "voucher": voucher,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        plan = d.pop("plan")

        promotional = d.pop("promotional")

        voucher = d.pop("voucher")

        free_pools = cls(
            plan=plan,
            promotional=promotional,
            voucher=voucher,
        )


        free_pools.additional_properties = d
        return free_pools

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
