from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="PoolBalances")



@_attrs_define
class PoolBalances:
    """ What the blocks of each pool hold, in micro-credits.

        Attributes:
            plan (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            prepaid (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            promotional (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            voucher (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
     """

    plan: float
    prepaid: float
    promotional: float
    voucher: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        plan = self.plan

        prepaid = self.prepaid

        promotional = self.promotional

        voucher = self.voucher


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "plan": plan,
            "prepaid": prepaid,
            "promotional": promotional,
            "voucher": voucher,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        plan = d.pop("plan")

        prepaid = d.pop("prepaid")

        promotional = d.pop("promotional")

        voucher = d.pop("voucher")

        pool_balances = cls(
            plan=plan,
            prepaid=prepaid,
            promotional=promotional,
            voucher=voucher,
        )


        pool_balances.additional_properties = d
        return pool_balances

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
