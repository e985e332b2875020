from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.usage_group import UsageGroup
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.usage_entry import UsageEntry





T = TypeVar("T", bound="UsageReport")



@_attrs_define
class UsageReport:
    """ A usage answer: the API's body and what the dashboard draws.

        Attributes:
            date_from (str):
            date_to (str):
            from_ (str):
            group_by (UsageGroup): The dimension usage is broken down by.
            org_id (str): The organisation.
            range_ (str): The preset, or `custom`.
            rows (list['UsageEntry']): Per day (every day, zeros included) or per group, most used first.
            time_zone (str): Its time zone, which the days are in.
            to (str):
            total_credits (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            total_operations (int): Consuming operations over the range.
            truncated (bool): More than [`MAX_USAGE_GROUPS`] groups: the smallest were left out
                (the totals still count them).
            user_email (Union[None, Unset, str]): Whose usage; null: the whole organisation.
     """

    date_from: str
    date_to: str
    from_: str
    group_by: UsageGroup
    org_id: str
    range_: str
    rows: list['UsageEntry']
    time_zone: str
    to: str
    total_credits: float
    total_operations: int
    truncated: bool
    user_email: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.usage_entry import UsageEntry
        date_from = self.date_from

        date_to = self.date_to

        from_ = self.from_

        group_by = self.group_by.value

        org_id = self.org_id

        range_ = self.range_

        rows = []
        for rows_item_data in self.rows:
            rows_item = rows_item_data.to_dict()
            rows.append(rows_item)



        time_zone = self.time_zone

        to = self.to

        total_credits = self.total_credits

        total_operations = self.total_operations

        truncated = self.truncated

        user_email: Union[None, Unset, str]
        if isinstance(self.user_email, Unset):
            user_email = UNSET
        else:
            user_email = self.user_email


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "date_from": date_from,
            "date_to": date_to,
            "from": from_,
            "group_by": group_by,
            "org_id": org_id,
            "range": range_,
            "rows": rows,
            "time_zone": time_zone,
            "to": to,
            "total_credits": total_credits,
            "total_operations": total_operations,
            "truncated": truncated,
        })
        if user_email is not UNSET:
            field_dict["user_email"] = user_email

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.usage_entry import UsageEntry
        d = dict(src_dict)
        date_from = d.pop("date_from")

        date_to = d.pop("date_to")

        from_ = d.pop("from")

        group_by = UsageGroup(d.pop("group_by"))




        org_id = d.pop("org_id")

        range_ = d.pop("range")

        rows = []
        _rows = d.pop("rows")
        for rows_item_data in (_rows):
            rows_item = UsageEntry.from_dict(rows_item_data)



            rows.append(rows_item)


        time_zone = d.pop("time_zone")

        to = d.pop("to")

        total_credits = d.pop("total_credits")

        total_operations = d.pop("total_operations")

        truncated = d.pop("truncated")

        def _parse_user_email(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        user_email = _parse_user_email(d.pop("user_email", UNSET))


        usage_report = cls(
            date_from=date_from,
            date_to=date_to,
            from_=from_,
            group_by=group_by,
            org_id=org_id,
            range_=range_,
            rows=rows,
            time_zone=time_zone,
            to=to,
            total_credits=total_credits,
            total_operations=total_operations,
            truncated=truncated,
            user_email=user_email,
        )


        usage_report.additional_properties = d
        return usage_report

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
