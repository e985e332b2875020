from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="StatementBalance")



@_attrs_define
class StatementBalance:
    """ A balance at one end of a statement.

        Attributes:
            available (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            balance (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            held (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            seq (int): The last event before this end (0: none).
     """

    available: float
    balance: float
    held: float
    seq: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        available = self.available

        balance = self.balance

        held = self.held

        seq = self.seq


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "available": available,
            "balance": balance,
            "held": held,
            "seq": seq,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        available = d.pop("available")

        balance = d.pop("balance")

        held = d.pop("held")

        seq = d.pop("seq")

        statement_balance = cls(
            available=available,
            balance=balance,
            held=held,
            seq=seq,
        )


        statement_balance.additional_properties = d
        return statement_balance

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
