from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="FundedChild")



@_attrs_define
class FundedChild:
    """ A child that draws on this organisation.

        Attributes:
            drawn_this_period (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            name (str): Its name.
            org_id (str): The child.
            used_this_period (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            budget (Union[None, Unset, float, str]):
     """

    drawn_this_period: Union[float, str]
    name: str
    org_id: str
    used_this_period: Union[float, str]
    budget: Union[None, Unset, float, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        drawn_this_period: Union[float, str]
        drawn_this_period = self.drawn_this_period

        name = self.name

        org_id = self.org_id

        used_this_period: Union[float, str]
        used_this_period = self.used_this_period

        budget: Union[None, Unset, float, str]
        if isinstance(self.budget, Unset):
            budget = UNSET
        else:
            budget = self.budget


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "drawn_this_period": drawn_this_period,
            "name": name,
            "org_id": org_id,
            "used_this_period": used_this_period,
        })
        if budget is not UNSET:
            field_dict["budget"] = budget

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_drawn_this_period(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        drawn_this_period = _parse_drawn_this_period(d.pop("drawn_this_period"))


        name = d.pop("name")

        org_id = d.pop("org_id")

        def _parse_used_this_period(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        used_this_period = _parse_used_this_period(d.pop("used_this_period"))


        def _parse_budget(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        budget = _parse_budget(d.pop("budget", UNSET))


        funded_child = cls(
            drawn_this_period=drawn_this_period,
            name=name,
            org_id=org_id,
            used_this_period=used_this_period,
            budget=budget,
        )


        funded_child.additional_properties = d
        return funded_child

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
