from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="PendingTopUp")



@_attrs_define
class PendingTopUp:
    """ A top-up waiting for its settle.

        Attributes:
            amount (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            purchase_id (str): The purchase (`pur_<seq>`), `processing`.
            requested_at (str):
     """

    amount: float
    purchase_id: str
    requested_at: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        purchase_id = self.purchase_id

        requested_at = self.requested_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "amount": amount,
            "purchase_id": purchase_id,
            "requested_at": requested_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        purchase_id = d.pop("purchase_id")

        requested_at = d.pop("requested_at")

        pending_top_up = cls(
            amount=amount,
            purchase_id=purchase_id,
            requested_at=requested_at,
        )


        pending_top_up.additional_properties = d
        return pending_top_up

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
