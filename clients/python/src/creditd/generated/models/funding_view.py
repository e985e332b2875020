from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="FundingView")



@_attrs_define
class FundingView:
    """ A funded organisation's parent and budget (see
    `creditd_core::funding`).

        Attributes:
            drawn_this_period (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            parent_id (str): The parent drawn on.
            parent_name (str): The parent's name ("Funded by …").
            budget (Union[None, Unset, float, str]):
            budget_left (Union[None, Unset, float, str]):
     """

    drawn_this_period: Union[float, str]
    parent_id: str
    parent_name: str
    budget: Union[None, Unset, float, str] = UNSET
    budget_left: Union[None, Unset, float, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        drawn_this_period: Union[float, str]
        drawn_this_period = self.drawn_this_period

        parent_id = self.parent_id

        parent_name = self.parent_name

        budget: Union[None, Unset, float, str]
        if isinstance(self.budget, Unset):
            budget = UNSET
        else:
            budget = self.budget

        budget_left: Union[None, Unset, float, str]
        if isinstance(self.budget_left, Unset):
            budget_left = UNSET
        else:
            budget_left = self.budget_left


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "drawn_this_period": drawn_this_period,
            "parent_id": parent_id,
            "parent_name": parent_name,
        })
        if budget is not UNSET:
            field_dict["budget"] = budget
        if budget_left is not UNSET:
            field_dict["budget_left"] = budget_left

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_drawn_this_period(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        drawn_this_period = _parse_drawn_this_period(d.pop("drawn_this_period"))


        parent_id = d.pop("parent_id")

        parent_name = d.pop("parent_name")

        def _parse_budget(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        budget = _parse_budget(d.pop("budget", UNSET))


        def _parse_budget_left(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        budget_left = _parse_budget_left(d.pop("budget_left", UNSET))


        funding_view = cls(
            drawn_this_period=drawn_this_period,
            parent_id=parent_id,
            parent_name=parent_name,
            budget=budget,
            budget_left=budget_left,
        )


        funding_view.additional_properties = d
        return funding_view

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
