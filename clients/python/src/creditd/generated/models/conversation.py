from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="Conversation")



@_attrs_define
class Conversation:
    """ A conversation as stored (the `conversations` table), for analytics by
    day, campaign and identity. Not a credit event.

        Attributes:
            created_at (str):
            day (str):
            identity (str): Who started it (trimmed).
            month_count (int): This identity's conversations in that month, this one included.
            month_limit (int): The plan's per-identity monthly limit when it was recorded.
            seq (int): Per-org sequence number, from 1.
            started_at (str):
            campaign (Union[None, Unset, str]): The campaign it belongs to, if named.
     """

    created_at: str
    day: str
    identity: str
    month_count: int
    month_limit: int
    seq: int
    started_at: str
    campaign: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at

        day = self.day

        identity = self.identity

        month_count = self.month_count

        month_limit = self.month_limit

        seq = self.seq

        started_at = self.started_at

        campaign: Union[None, Unset, str]
        if isinstance(self.campaign, Unset):
            campaign = UNSET
        else:
            campaign = self.campaign


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "day": day,
            "identity": identity,
            "month_count": month_count,
            "month_limit": month_limit,
            "seq": seq,
            "started_at": started_at,
        })
        if campaign is not UNSET:
            field_dict["campaign"] = campaign

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = d.pop("created_at")

        day = d.pop("day")

        identity = d.pop("identity")

        month_count = d.pop("month_count")

        month_limit = d.pop("month_limit")

        seq = d.pop("seq")

        started_at = d.pop("started_at")

        def _parse_campaign(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        campaign = _parse_campaign(d.pop("campaign", UNSET))


        conversation = cls(
            created_at=created_at,
            day=day,
            identity=identity,
            month_count=month_count,
            month_limit=month_limit,
            seq=seq,
            started_at=started_at,
            campaign=campaign,
        )


        conversation.additional_properties = d
        return conversation

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
