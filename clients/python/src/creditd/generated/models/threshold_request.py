from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="ThresholdRequest")



@_attrs_define
class ThresholdRequest:
    """ `PUT …/low-balance-threshold`: `{"threshold": 1000}`; `null` clears it.
    Below it, a `low_balance` notification is stored once per crossing
    (see `GET …/notifications`); never a credit event.

        Attributes:
            threshold (Union[None, Unset, float, str]):
     """

    threshold: Union[None, Unset, float, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        threshold: Union[None, Unset, float, str]
        if isinstance(self.threshold, Unset):
            threshold = UNSET
        else:
            threshold = self.threshold


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if threshold is not UNSET:
            field_dict["threshold"] = threshold

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_threshold(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        threshold = _parse_threshold(d.pop("threshold", UNSET))


        threshold_request = cls(
            threshold=threshold,
        )

        return threshold_request

