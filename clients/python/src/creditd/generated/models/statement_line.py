from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="StatementLine")



@_attrs_define
class StatementLine:
    """ One line of a statement: credits in or out of one kind.

        Attributes:
            amount (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            count (int): Events (for `usage_and_debits`: debits and usage operations).
            kind (str): The event kind (`grant`, `expiry`, …) or `usage_and_debits`.
            title (str): The words a report shows.
     """

    amount: float
    count: int
    kind: str
    title: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        count = self.count

        kind = self.kind

        title = self.title


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "amount": amount,
            "count": count,
            "kind": kind,
            "title": title,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        count = d.pop("count")

        kind = d.pop("kind")

        title = d.pop("title")

        statement_line = cls(
            amount=amount,
            count=count,
            kind=kind,
            title=title,
        )


        statement_line.additional_properties = d
        return statement_line

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
