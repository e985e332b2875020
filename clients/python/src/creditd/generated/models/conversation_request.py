from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="ConversationRequest")



@_attrs_define
class ConversationRequest:
    """ `POST …/conversations`: one conversation started by an identity.

        Attributes:
            identity (str): Who started the conversation (counted against their monthly limit).
            campaign (Union[None, Unset, str]): The campaign it belongs to.
            started_at (Union[None, Unset, str]):
     """

    identity: str
    campaign: Union[None, Unset, str] = UNSET
    started_at: Union[None, Unset, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        identity = self.identity

        campaign: Union[None, Unset, str]
        if isinstance(self.campaign, Unset):
            campaign = UNSET
        else:
            campaign = self.campaign

        started_at: Union[None, Unset, str]
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        else:
            started_at = self.started_at


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "identity": identity,
        })
        if campaign is not UNSET:
            field_dict["campaign"] = campaign
        if started_at is not UNSET:
            field_dict["started_at"] = started_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        identity = d.pop("identity")

        def _parse_campaign(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        campaign = _parse_campaign(d.pop("campaign", UNSET))


        def _parse_started_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))


        conversation_request = cls(
            identity=identity,
            campaign=campaign,
            started_at=started_at,
        )

        return conversation_request

