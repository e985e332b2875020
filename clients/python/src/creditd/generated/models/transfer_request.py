from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="TransferRequest")



@_attrs_define
class TransferRequest:
    """ `POST /api/organizations/{orgId}/transfers`.

        Attributes:
            amount (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            to (str): The receiving organisation: this one's parent, a child or a sibling.
            description (Union[None, Unset, str]): Why, kept on both events (default: "Transfer to …" / "Transfer from …").
     """

    amount: Union[float, str]
    to: str
    description: Union[None, Unset, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        amount: Union[float, str]
        amount = self.amount

        to = self.to

        description: Union[None, Unset, str]
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "amount": amount,
            "to": to,
        })
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_amount(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        amount = _parse_amount(d.pop("amount"))


        to = d.pop("to")

        def _parse_description(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        description = _parse_description(d.pop("description", UNSET))


        transfer_request = cls(
            amount=amount,
            to=to,
            description=description,
        )

        return transfer_request

