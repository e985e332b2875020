from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="Forecast")



@_attrs_define
class Forecast:
    """ "At the last 28 days' pace credits run out on DATE", or never.

        Attributes:
            before_top_up (bool): Whether that day comes before the next renewal.
            consumed (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            daily_pace (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            message (str): The forecast in one sentence, for the dashboard.
            window_days (int): Days looked back on, today included ([`FORECAST_WINDOW_DAYS`]).
            runs_out_on (Union[None, Unset, str]):
     """

    before_top_up: bool
    consumed: float
    daily_pace: float
    message: str
    window_days: int
    runs_out_on: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        before_top_up = self.before_top_up

        consumed = self.consumed

        daily_pace = self.daily_pace

        message = self.message

        window_days = self.window_days

        runs_out_on: Union[None, Unset, str]
        if isinstance(self.runs_out_on, Unset):
            runs_out_on = UNSET
        else:
            runs_out_on = self.runs_out_on


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "before_top_up": before_top_up,
            "consumed": consumed,
            "daily_pace": daily_pace,
            "message": message,
            "window_days": window_days,
        })
        if runs_out_on is not UNSET:
            field_dict["runs_out_on"] = runs_out_on

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        before_top_up = d.pop("before_top_up")

        consumed = d.pop("consumed")

        daily_pace = d.pop("daily_pace")

        message = d.pop("message")

        window_days = d.pop("window_days")

        def _parse_runs_out_on(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        runs_out_on = _parse_runs_out_on(d.pop("runs_out_on", UNSET))


        forecast = cls(
            before_top_up=before_top_up,
            consumed=consumed,
            daily_pace=daily_pace,
            message=message,
            window_days=window_days,
            runs_out_on=runs_out_on,
        )


        forecast.additional_properties = d
        return forecast

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
