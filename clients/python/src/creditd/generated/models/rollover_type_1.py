from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.rollover_type_1_policy import RolloverType1Policy






T = TypeVar("T", bound="RolloverType1")



@_attrs_define
class RolloverType1:
    """ Everything is carried over

        Attributes:
            policy (RolloverType1Policy):
     """

    policy: RolloverType1Policy





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
        policy = RolloverType1Policy(d.pop("policy"))




        rollover_type_1 = cls(
            policy=policy,
        )

        return rollover_type_1

