from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="TopUpCap")



@_attrs_define
class TopUpCap:
    """ The most auto top-ups one period may request (those that did not fail
    count): by number, by credits, or both.

        Attributes:
            count (Union[None, Unset, int]): Most top-ups per period; at least 1.
            credits_ (Union[None, Unset, float, str]):
     """

    count: Union[None, Unset, int] = UNSET
    credits_: Union[None, Unset, float, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        count: Union[None, Unset, int]
        if isinstance(self.count, Unset):
            count = UNSET
        else:
            count = self.count

        credits_: Union[None, Unset, float, str]
        if isinstance(self.credits_, Unset):
            credits_ = UNSET
        else:
            credits_ = self.credits_


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if count is not UNSET:
            field_dict["count"] = count
        if credits_ is not UNSET:
            field_dict["credits"] = credits_

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_count(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        count = _parse_count(d.pop("count", UNSET))


        def _parse_credits_(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        credits_ = _parse_credits_(d.pop("credits", UNSET))


        top_up_cap = cls(
            count=count,
            credits_=credits_,
        )

        return top_up_cap

