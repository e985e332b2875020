from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="BuyMoreRequest")



@_attrs_define
class BuyMoreRequest:
    """ `POST …/purchases/request`: one of the amounts the organisation is
    offered (`buy_more_amounts`).

        Attributes:
            amount (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            requested_by (Union[None, Unset, str]): Who asked, for a service key acting for someone (a member's own
                request always names the member).
     """

    amount: Union[float, str]
    requested_by: Union[None, Unset, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        amount: Union[float, str]
        amount = self.amount

        requested_by: Union[None, Unset, str]
        if isinstance(self.requested_by, Unset):
            requested_by = UNSET
        else:
            requested_by = self.requested_by


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "amount": amount,
        })
        if requested_by is not UNSET:
            field_dict["requested_by"] = requested_by

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_amount(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        amount = _parse_amount(d.pop("amount"))


        def _parse_requested_by(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        requested_by = _parse_requested_by(d.pop("requested_by", UNSET))


        buy_more_request = cls(
            amount=amount,
            requested_by=requested_by,
        )

        return buy_more_request

