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
  from ..models.pricing import Pricing
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
                until settled `succeeded` or `failed` (or `succeeded` at once), and a
                succeeded one may be `reversed`, once.
            block_id (Union[None, Unset, str]): A succeeded purchase: the block its credits were added to
                (`blk_<seq>` of its succeeded event), which a reversal takes them
                back from. `None` on other records, and on purchases recorded before
                this field or imported (a reversal then takes from the prepaid pool).
            expires_at (Union[None, Unset, str]):
            pricing (Union['Pricing', None, Unset]):
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
    block_id: Union[None, Unset, str] = UNSET
    expires_at: Union[None, Unset, str] = UNSET
    pricing: Union['Pricing', None, Unset] = UNSET
    timed_out: Union[Unset, bool] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.event_ctx import EventCtx
        from ..models.pricing import Pricing
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

        block_id: Union[None, Unset, str]
        if isinstance(self.block_id, Unset):
            block_id = UNSET
        else:
            block_id = self.block_id

        expires_at: Union[None, Unset, str]
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = self.expires_at

        pricing: Union[None, Unset, dict[str, Any]]
        if isinstance(self.pricing, Unset):
            pricing = UNSET
        elif isinstance(self.pricing, Pricing):
            pricing = self.pricing.to_dict()
        else:
            pricing = self.pricing

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
        if block_id is not UNSET:
            field_dict["block_id"] = block_id
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if pricing is not UNSET:
            field_dict["pricing"] = pricing
        if timed_out is not UNSET:
            field_dict["timed_out"] = timed_out

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_ctx import EventCtx
        from ..models.pricing import Pricing
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




        def _parse_block_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        block_id = _parse_block_id(d.pop("block_id", UNSET))


        def _parse_expires_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))


        def _parse_pricing(data: object) -> Union['Pricing', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                pricing_type_1 = Pricing.from_dict(data)



                return pricing_type_1
            except: # noqa: E722
                pass
            return cast(Union['Pricing', None, Unset], data)

        pricing = _parse_pricing(d.pop("pricing", UNSET))


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
            block_id=block_id,
            expires_at=expires_at,
            pricing=pricing,
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
