from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.effective import Effective
from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="PlanChangeRequest")



@_attrs_define
class PlanChangeRequest:
    """ `POST …/plan/change`: a plan of the catalogue.

        Attributes:
            plan_id (str): The catalogue plan chosen.
            effective (Union[Effective, None, Unset]):
     """

    plan_id: str
    effective: Union[Effective, None, Unset] = UNSET





    def to_dict(self) -> dict[str, Any]:
        plan_id = self.plan_id

        effective: Union[None, Unset, str]
        if isinstance(self.effective, Unset):
            effective = UNSET
        elif isinstance(self.effective, Effective):
            effective = self.effective.value
        else:
            effective = self.effective


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "plan_id": plan_id,
        })
        if effective is not UNSET:
            field_dict["effective"] = effective

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        plan_id = d.pop("plan_id")

        def _parse_effective(data: object) -> Union[Effective, None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                effective_type_1 = Effective(data)



                return effective_type_1
            except: # noqa: E722
                pass
            return cast(Union[Effective, None, Unset], data)

        effective = _parse_effective(d.pop("effective", UNSET))


        plan_change_request = cls(
            plan_id=plan_id,
            effective=effective,
        )

        return plan_change_request

