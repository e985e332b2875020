from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="LowBalance")



@_attrs_define
class LowBalance:
    """ The low-balance alert as of the summary.

        Attributes:
            below (bool): Whether available credits are below the threshold now.
            since (Union[None, Unset, str]):
            threshold (Union[None, Unset, float]):
     """

    below: bool
    since: Union[None, Unset, str] = UNSET
    threshold: Union[None, Unset, float] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        below = self.below

        since: Union[None, Unset, str]
        if isinstance(self.since, Unset):
            since = UNSET
        else:
            since = self.since

        threshold: Union[None, Unset, float]
        if isinstance(self.threshold, Unset):
            threshold = UNSET
        else:
            threshold = self.threshold


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "below": below,
        })
        if since is not UNSET:
            field_dict["since"] = since
        if threshold is not UNSET:
            field_dict["threshold"] = threshold

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        below = d.pop("below")

        def _parse_since(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        since = _parse_since(d.pop("since", UNSET))


        def _parse_threshold(data: object) -> Union[None, Unset, float]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float], data)

        threshold = _parse_threshold(d.pop("threshold", UNSET))


        low_balance = cls(
            below=below,
            since=since,
            threshold=threshold,
        )


        low_balance.additional_properties = d
        return low_balance

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
