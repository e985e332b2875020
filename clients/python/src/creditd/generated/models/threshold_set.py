from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.low_balance import LowBalance





T = TypeVar("T", bound="ThresholdSet")



@_attrs_define
class ThresholdSet:
    """ `PUT …/low-balance-threshold`: the alert's state and the balance.

        Attributes:
            balance (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            low_balance (LowBalance): The low-balance alert as of the summary.
     """

    balance: float
    low_balance: 'LowBalance'
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.low_balance import LowBalance
        balance = self.balance

        low_balance = self.low_balance.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "balance": balance,
            "low_balance": low_balance,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.low_balance import LowBalance
        d = dict(src_dict)
        balance = d.pop("balance")

        low_balance = LowBalance.from_dict(d.pop("low_balance"))




        threshold_set = cls(
            balance=balance,
            low_balance=low_balance,
        )


        threshold_set.additional_properties = d
        return threshold_set

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
