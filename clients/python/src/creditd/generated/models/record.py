from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.record_kind import RecordKind
from ..models.record_status import RecordStatus
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.event_ctx import EventCtx
  from ..models.draw import Draw





T = TypeVar("T", bound="Record")



@_attrs_define
class Record:
    """ A hold, a usage or a purchase: what later events (debit, release, refund,
    settle) refer to.

        Attributes:
            amount (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            captured (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            created_at (str):
            ctx (EventCtx): Who and what an operation is about; copied onto its events.

                Every text field is at most [`MAX_TEXT_LEN`](crate::input::MAX_TEXT_LEN)
                bytes with no NUL; `metadata` is bounded by the limits in
                [`input`](crate::input).
            draws (list['Draw']): Blocks the credits came from, in the order they were taken.
            id (str): `hold_<seq>`, `use_<seq>` or `pur_<seq>`: the sequence number of the
                event that created it.
            kind (RecordKind): What a [`Record`] is.
            refunded (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            status (RecordStatus): Where a [`Record`] is in its life. A hold goes from `open` to `debited`
                or `released`, once; a usage is `consumed`; a purchase is `processing`
                until settled `succeeded` or `failed` (or `succeeded` at once).
            expires_at (Union[None, Unset, str]):
            timed_out (Union[Unset, bool]): A hold released because its time ran out (not by a caller), so a
                late debit or release says `hold_expired`. Records written before
                this field read as `false`.
     """

    amount: float
    captured: float
    created_at: str
    ctx: 'EventCtx'
    draws: list['Draw']
    id: str
    kind: RecordKind
    refunded: float
    status: RecordStatus
    expires_at: Union[None, Unset, str] = UNSET
    timed_out: Union[Unset, bool] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.event_ctx import EventCtx
        from ..models.draw import Draw
        amount = self.amount

        captured = self.captured

        created_at = self.created_at

        ctx = self.ctx.to_dict()

        draws = []
        for draws_item_data in self.draws:
            draws_item = draws_item_data.to_dict()
            draws.append(draws_item)



        id = self.id

        kind = self.kind.value

        refunded = self.refunded

        status = self.status.value

        expires_at: Union[None, Unset, str]
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = self.expires_at

        timed_out = self.timed_out


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "amount": amount,
            "captured": captured,
            "created_at": created_at,
            "ctx": ctx,
            "draws": draws,
            "id": id,
            "kind": kind,
            "refunded": refunded,
            "status": status,
        })
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if timed_out is not UNSET:
            field_dict["timed_out"] = timed_out

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_ctx import EventCtx
        from ..models.draw import Draw
        d = dict(src_dict)
        amount = d.pop("amount")

        captured = d.pop("captured")

        created_at = d.pop("created_at")

        ctx = EventCtx.from_dict(d.pop("ctx"))




        draws = []
        _draws = d.pop("draws")
        for draws_item_data in (_draws):
            draws_item = Draw.from_dict(draws_item_data)



            draws.append(draws_item)


        id = d.pop("id")

        kind = RecordKind(d.pop("kind"))




        refunded = d.pop("refunded")

        status = RecordStatus(d.pop("status"))




        def _parse_expires_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))


        timed_out = d.pop("timed_out", UNSET)

        record = cls(
            amount=amount,
            captured=captured,
            created_at=created_at,
            ctx=ctx,
            draws=draws,
            id=id,
            kind=kind,
            refunded=refunded,
            status=status,
            expires_at=expires_at,
            timed_out=timed_out,
        )


        record.additional_properties = d
        return record

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
