from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="TopUpPause")



@_attrs_define
class TopUpPause:
    """ Why and since when auto top-up is paused.

        Attributes:
            last_failed (str): The last failed top-up (`pur_<seq>`).
            reason (str): Why, in one sentence.
            since (str):
     """

    last_failed: str
    reason: str
    since: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        last_failed = self.last_failed

        reason = self.reason

        since = self.since


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "last_failed": last_failed,
            "reason": reason,
            "since": since,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        last_failed = d.pop("last_failed")

        reason = d.pop("reason")

        since = d.pop("since")

        top_up_pause = cls(
            last_failed=last_failed,
            reason=reason,
            since=since,
        )


        top_up_pause.additional_properties = d
        return top_up_pause

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
