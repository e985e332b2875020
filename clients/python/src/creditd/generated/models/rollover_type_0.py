from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.rollover_type_0_policy import RolloverType0Policy






T = TypeVar("T", bound="RolloverType0")



@_attrs_define
class RolloverType0:
    """ Nothing is carried over (the default)

        Attributes:
            policy (RolloverType0Policy):
     """

    policy: RolloverType0Policy





    def to_dict(self) -> dict[str, Any]:
        policy = self.policy.value


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "policy": policy,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        policy = RolloverType0Policy(d.pop("policy"))




        rollover_type_0 = cls(
            policy=policy,
        )

        return rollover_type_0

