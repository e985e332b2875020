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
  from ..models.seed_event import SeedEvent





T = TypeVar("T", bound="SeedPage")



@_attrs_define
class SeedPage:
    """ One page of the history with seed 001's field names (`fields=events`):
    what a client written for that log reads unchanged.

        Attributes:
            events (list['SeedEvent']): The page's events, newest first.
            limit (int): The page size asked for.
            next_cursor (Union[None, Unset, str]): Pass as `cursor` (with `fields=events`) for the next page; absent on
                the last page.
            offset (Union[None, Unset, int]): The offset asked for; absent when the page was asked for by cursor.
     """

    events: list['SeedEvent']
    limit: int
    next_cursor: Union[None, Unset, str] = UNSET
    offset: Union[None, Unset, int] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.seed_event import SeedEvent
        events = []
        for events_item_data in self.events:
            events_item = events_item_data.to_dict()
            events.append(events_item)



        limit = self.limit

        next_cursor: Union[None, Unset, str]
        if isinstance(self.next_cursor, Unset):
            next_cursor = UNSET
        else:
            next_cursor = self.next_cursor

        offset: Union[None, Unset, int]
        if isinstance(self.offset, Unset):
            offset = UNSET
        else:
            offset = self.offset


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "events": events,
            "limit": limit,
        })
        if next_cursor is not UNSET:
            field_dict["next_cursor"] = next_cursor
        if offset is not UNSET:
            field_dict["offset"] = offset

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.seed_event import SeedEvent
        d = dict(src_dict)
        events = []
        _events = d.pop("events")
        for events_item_data in (_events):
            events_item = SeedEvent.from_dict(events_item_data)



            events.append(events_item)


        limit = d.pop("limit")

        def _parse_next_cursor(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        next_cursor = _parse_next_cursor(d.pop("next_cursor", UNSET))


        def _parse_offset(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        offset = _parse_offset(d.pop("offset", UNSET))


        seed_page = cls(
            events=events,
            limit=limit,
            next_cursor=next_cursor,
            offset=offset,
        )


        seed_page.additional_properties = d
        return seed_page

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
