from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.rollover_type_3_policy import RolloverType3Policy






T = TypeVar("T", bound="RolloverType3")



@_attrs_define
class RolloverType3:
    """ Each period's credits are carried over at most this many times

        Attributes:
            periods (int):
            policy (RolloverType3Policy):
     """

    periods: int
    policy: RolloverType3Policy





    def to_dict(self) -> dict[str, Any]:
        periods = self.periods

        policy = self.policy.value


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "periods": periods,
            "policy": policy,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        periods = d.pop("periods")

        policy = RolloverType3Policy(d.pop("policy"))




        rollover_type_3 = cls(
            periods=periods,
            policy=policy,
        )

        return rollover_type_3

