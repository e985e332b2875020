from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.rollover_type_2_policy import RolloverType2Policy
from typing import cast, Union






T = TypeVar("T", bound="RolloverType2")



@_attrs_define
class RolloverType2:
    """ Carried over up to this many accumulated credits in all

        Attributes:
            max_credits (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            policy (RolloverType2Policy):
     """

    max_credits: Union[float, str]
    policy: RolloverType2Policy





    def to_dict(self) -> dict[str, Any]:
        max_credits: Union[float, str]
        max_credits = self.max_credits

        policy = self.policy.value


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "max_credits": max_credits,
            "policy": policy,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_max_credits(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        max_credits = _parse_max_credits(d.pop("max_credits"))


        policy = RolloverType2Policy(d.pop("policy"))




        rollover_type_2 = cls(
            max_credits=max_credits,
            policy=policy,
        )

        return rollover_type_2

