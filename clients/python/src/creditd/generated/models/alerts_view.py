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
  from ..models.alert_level_view import AlertLevelView





T = TypeVar("T", bound="AlertsView")



@_attrs_define
class AlertsView:
    """ `GET …/alerts` (and the answer of `PUT …/alerts`).

        Attributes:
            available (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            levels (list['AlertLevelView']): The usage alert levels, in the order set, then the low-balance
                threshold if one is set.
            period_usage (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            allocation (Union[None, Unset, float]):
     """

    available: float
    levels: list['AlertLevelView']
    period_usage: float
    allocation: Union[None, Unset, float] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.alert_level_view import AlertLevelView
        available = self.available

        levels = []
        for levels_item_data in self.levels:
            levels_item = levels_item_data.to_dict()
            levels.append(levels_item)



        period_usage = self.period_usage

        allocation: Union[None, Unset, float]
        if isinstance(self.allocation, Unset):
            allocation = UNSET
        else:
            allocation = self.allocation


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "available": available,
            "levels": levels,
            "period_usage": period_usage,
        })
        if allocation is not UNSET:
            field_dict["allocation"] = allocation

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.alert_level_view import AlertLevelView
        d = dict(src_dict)
        available = d.pop("available")

        levels = []
        _levels = d.pop("levels")
        for levels_item_data in (_levels):
            levels_item = AlertLevelView.from_dict(levels_item_data)



            levels.append(levels_item)


        period_usage = d.pop("period_usage")

        def _parse_allocation(data: object) -> Union[None, Unset, float]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float], data)

        allocation = _parse_allocation(d.pop("allocation", UNSET))


        alerts_view = cls(
            available=available,
            levels=levels,
            period_usage=period_usage,
            allocation=allocation,
        )


        alerts_view.additional_properties = d
        return alerts_view

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
