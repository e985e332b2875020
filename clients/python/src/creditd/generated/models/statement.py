from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.statement_balance import StatementBalance
  from ..models.statement_line import StatementLine





T = TypeVar("T", bound="Statement")



@_attrs_define
class Statement:
    """ Opening balance, credits in and out by kind, closing balance, over
    whole local days.

        Attributes:
            closing (StatementBalance): A balance at one end of a statement.
            credits_in (list['StatementLine']): Credits in, by kind (biggest first).
            credits_out (list['StatementLine']): Credits out, by kind (biggest first).
            date_from (str):
            date_to (str):
            expired (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            from_ (str):
            opening (StatementBalance): A balance at one end of a statement.
            org_id (str): The organisation.
            time_zone (str): The zone the days are in.
            to (str):
            total_in (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            total_out (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
     """

    closing: 'StatementBalance'
    credits_in: list['StatementLine']
    credits_out: list['StatementLine']
    date_from: str
    date_to: str
    expired: float
    from_: str
    opening: 'StatementBalance'
    org_id: str
    time_zone: str
    to: str
    total_in: float
    total_out: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.statement_balance import StatementBalance
        from ..models.statement_line import StatementLine
        closing = self.closing.to_dict()

        credits_in = []
        for credits_in_item_data in self.credits_in:
            credits_in_item = credits_in_item_data.to_dict()
            credits_in.append(credits_in_item)



        credits_out = []
        for credits_out_item_data in self.credits_out:
            credits_out_item = credits_out_item_data.to_dict()
            credits_out.append(credits_out_item)



        date_from = self.date_from

        date_to = self.date_to

        expired = self.expired

        from_ = self.from_

        opening = self.opening.to_dict()

        org_id = self.org_id

        time_zone = self.time_zone

        to = self.to

        total_in = self.total_in

        total_out = self.total_out


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "closing": closing,
            "credits_in": credits_in,
            "credits_out": credits_out,
            "date_from": date_from,
            "date_to": date_to,
            "expired": expired,
            "from": from_,
            "opening": opening,
            "org_id": org_id,
            "time_zone": time_zone,
            "to": to,
            "total_in": total_in,
            "total_out": total_out,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.statement_balance import StatementBalance
        from ..models.statement_line import StatementLine
        d = dict(src_dict)
        closing = StatementBalance.from_dict(d.pop("closing"))




        credits_in = []
        _credits_in = d.pop("credits_in")
        for credits_in_item_data in (_credits_in):
            credits_in_item = StatementLine.from_dict(credits_in_item_data)



            credits_in.append(credits_in_item)


        credits_out = []
        _credits_out = d.pop("credits_out")
        for credits_out_item_data in (_credits_out):
            credits_out_item = StatementLine.from_dict(credits_out_item_data)



            credits_out.append(credits_out_item)


        date_from = d.pop("date_from")

        date_to = d.pop("date_to")

        expired = d.pop("expired")

        from_ = d.pop("from")

        opening = StatementBalance.from_dict(d.pop("opening"))




        org_id = d.pop("org_id")

        time_zone = d.pop("time_zone")

        to = d.pop("to")

        total_in = d.pop("total_in")

        total_out = d.pop("total_out")

        statement = cls(
            closing=closing,
            credits_in=credits_in,
            credits_out=credits_out,
            date_from=date_from,
            date_to=date_to,
            expired=expired,
            from_=from_,
            opening=opening,
            org_id=org_id,
            time_zone=time_zone,
            to=to,
            total_in=total_in,
            total_out=total_out,
        )


        statement.additional_properties = d
        return statement

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
