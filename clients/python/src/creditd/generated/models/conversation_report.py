from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.conversation_group import ConversationGroup
from typing import cast

if TYPE_CHECKING:
  from ..models.conversation_count import ConversationCount





T = TypeVar("T", bound="ConversationReport")



@_attrs_define
class ConversationReport:
    """ `GET …/conversations`: conversations started in `[date_from, date_to)`.

        Attributes:
            date_from (str):
            date_to (str):
            group_by (ConversationGroup): What conversations are counted by.
            rows (list['ConversationCount']): Per day (every day, zeros included) or per group, most first.
            time_zone (str): The zone days are counted in.
            total (int): Conversations in the range.
            truncated (bool): More than 1,000 groups: only the first are listed.
     """

    date_from: str
    date_to: str
    group_by: ConversationGroup
    rows: list['ConversationCount']
    time_zone: str
    total: int
    truncated: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.conversation_count import ConversationCount
        date_from = self.date_from

        date_to = self.date_to

        group_by = self.group_by.value

        rows = []
        for rows_item_data in self.rows:
            rows_item = rows_item_data.to_dict()
            rows.append(rows_item)



        time_zone = self.time_zone

        total = self.total

        truncated = self.truncated


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "date_from": date_from,
            "date_to": date_to,
            "group_by": group_by,
            "rows": rows,
            "time_zone": time_zone,
            "total": total,
            "truncated": truncated,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.conversation_count import ConversationCount
        d = dict(src_dict)
        date_from = d.pop("date_from")

        date_to = d.pop("date_to")

        group_by = ConversationGroup(d.pop("group_by"))




        rows = []
        _rows = d.pop("rows")
        for rows_item_data in (_rows):
            rows_item = ConversationCount.from_dict(rows_item_data)



            rows.append(rows_item)


        time_zone = d.pop("time_zone")

        total = d.pop("total")

        truncated = d.pop("truncated")

        conversation_report = cls(
            date_from=date_from,
            date_to=date_to,
            group_by=group_by,
            rows=rows,
            time_zone=time_zone,
            total=total,
            truncated=truncated,
        )


        conversation_report.additional_properties = d
        return conversation_report

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
