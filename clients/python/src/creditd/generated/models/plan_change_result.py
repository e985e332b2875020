from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.plan_view import PlanView





T = TypeVar("T", bound="PlanChangeResult")



@_attrs_define
class PlanChangeResult:
    """ `POST …/plan/change`: applied, or sent to the operator.

        Attributes:
            applied (bool): True: the plan was changed (the organisation is self-service);
                false: a `plan_change.requested` webhook asks the operator to.
            plan (PlanView): `GET …/plan`: the plan, a pending change, the anchor and the period.
            plan_id (str): The catalogue plan chosen.
            message_id (Union[None, Unset, str]): The `plan_change.requested` message, when not applied.
     """

    applied: bool
    plan: 'PlanView'
    plan_id: str
    message_id: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.plan_view import PlanView
        applied = self.applied

        plan = self.plan.to_dict()

        plan_id = self.plan_id

        message_id: Union[None, Unset, str]
        if isinstance(self.message_id, Unset):
            message_id = UNSET
        else:
            message_id = self.message_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "applied": applied,
            "plan": plan,
            "plan_id": plan_id,
        })
        if message_id is not UNSET:
            field_dict["message_id"] = message_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.plan_view import PlanView
        d = dict(src_dict)
        applied = d.pop("applied")

        plan = PlanView.from_dict(d.pop("plan"))




        plan_id = d.pop("plan_id")

        def _parse_message_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        message_id = _parse_message_id(d.pop("message_id", UNSET))


        plan_change_result = cls(
            applied=applied,
            plan=plan,
            plan_id=plan_id,
            message_id=message_id,
        )


        plan_change_result.additional_properties = d
        return plan_change_result

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
