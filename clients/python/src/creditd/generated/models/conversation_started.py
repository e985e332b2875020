from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.conversation import Conversation





T = TypeVar("T", bound="ConversationStarted")



@_attrs_define
class ConversationStarted:
    """ `POST …/conversations`: the conversation counted and what is left of
    the identity's monthly limit.

        Attributes:
            conversation (Conversation): A conversation as stored (the `conversations` table), for analytics by
                day, campaign and identity. Not a credit event.
            remaining_this_month (int): What is left of the identity's limit this month.
     """

    conversation: 'Conversation'
    remaining_this_month: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.conversation import Conversation
        conversation = self.conversation.to_dict()

        remaining_this_month = self.remaining_this_month


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "conversation": conversation,
            "remaining_this_month": remaining_this_month,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.conversation import Conversation
        d = dict(src_dict)
        conversation = Conversation.from_dict(d.pop("conversation"))




        remaining_this_month = d.pop("remaining_this_month")

        conversation_started = cls(
            conversation=conversation,
            remaining_this_month=remaining_this_month,
        )


        conversation_started.additional_properties = d
        return conversation_started

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
