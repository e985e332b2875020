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
  from ..models.pool_balances import PoolBalances
  from ..models.open_hold_at import OpenHoldAt





T = TypeVar("T", bound="BalanceAt")



@_attrs_define
class BalanceAt:
    """ The balances of an organisation as they were at an instant.

        Attributes:
            as_of (str):
            available (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            before_org_created (bool): The instant is before the organisation was created: every figure
                is zero and there are no events.
            held (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            open_holds (list['OpenHoldAt']): The holds open at `as_of`, newest first, at most
                [`MAX_OPEN_HOLDS_LISTED`]; their amounts sum to `held` when
                `open_hold_count` is given.
            org_id (str): The organisation.
            period_end (str):
            period_start (str):
            period_usage (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            prepaid (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            seq (int): The last event at or before `as_of` (0: none).
            last_event_at (Union[None, Unset, str]):
            open_hold_count (Union[None, Unset, int]): How many holds were open at `as_of`; absent when more than
                [`MAX_OPEN_HOLDS_LISTED`] were (the walk stops at the newest ones).
            pools (Union['PoolBalances', None, Unset]):
     """

    as_of: str
    available: float
    before_org_created: bool
    held: float
    open_holds: list['OpenHoldAt']
    org_id: str
    period_end: str
    period_start: str
    period_usage: float
    prepaid: float
    seq: int
    last_event_at: Union[None, Unset, str] = UNSET
    open_hold_count: Union[None, Unset, int] = UNSET
    pools: Union['PoolBalances', None, Unset] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.pool_balances import PoolBalances
        from ..models.open_hold_at import OpenHoldAt
        as_of = self.as_of

        available = self.available

        before_org_created = self.before_org_created

        held = self.held

        open_holds = []
        for open_holds_item_data in self.open_holds:
            open_holds_item = open_holds_item_data.to_dict()
            open_holds.append(open_holds_item)



        org_id = self.org_id

        period_end = self.period_end

        period_start = self.period_start

        period_usage = self.period_usage

        prepaid = self.prepaid

        seq = self.seq

        last_event_at: Union[None, Unset, str]
        if isinstance(self.last_event_at, Unset):
            last_event_at = UNSET
        else:
            last_event_at = self.last_event_at

        open_hold_count: Union[None, Unset, int]
        if isinstance(self.open_hold_count, Unset):
            open_hold_count = UNSET
        else:
            open_hold_count = self.open_hold_count

        pools: Union[None, Unset, dict[str, Any]]
        if isinstance(self.pools, Unset):
            pools = UNSET
        elif isinstance(self.pools, PoolBalances):
            pools = self.pools.to_dict()
        else:
            pools = self.pools


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "as_of": as_of,
            "available": available,
            "before_org_created": before_org_created,
            "held": held,
            "open_holds": open_holds,
            "org_id": org_id,
            "period_end": period_end,
            "period_start": period_start,
            "period_usage": period_usage,
            "prepaid": prepaid,
            "seq": seq,
        })
        if last_event_at is not UNSET:
            field_dict["last_event_at"] = last_event_at
        if open_hold_count is not UNSET:
            field_dict["open_hold_count"] = open_hold_count
        if pools is not UNSET:
            field_dict["pools"] = pools

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.pool_balances import PoolBalances
        from ..models.open_hold_at import OpenHoldAt
        d = dict(src_dict)
        as_of = d.pop("as_of")

        available = d.pop("available")

        before_org_created = d.pop("before_org_created")

        held = d.pop("held")

        open_holds = []
        _open_holds = d.pop("open_holds")
        for open_holds_item_data in (_open_holds):
            open_holds_item = OpenHoldAt.from_dict(open_holds_item_data)



            open_holds.append(open_holds_item)


        org_id = d.pop("org_id")

        period_end = d.pop("period_end")

        period_start = d.pop("period_start")

        period_usage = d.pop("period_usage")

        prepaid = d.pop("prepaid")

        seq = d.pop("seq")

        def _parse_last_event_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        last_event_at = _parse_last_event_at(d.pop("last_event_at", UNSET))


        def _parse_open_hold_count(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        open_hold_count = _parse_open_hold_count(d.pop("open_hold_count", UNSET))


        def _parse_pools(data: object) -> Union['PoolBalances', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                pools_type_1 = PoolBalances.from_dict(data)



                return pools_type_1
            except: # noqa: E722
                pass
            return cast(Union['PoolBalances', None, Unset], data)

        pools = _parse_pools(d.pop("pools", UNSET))


        balance_at = cls(
            as_of=as_of,
            available=available,
            before_org_created=before_org_created,
            held=held,
            open_holds=open_holds,
            org_id=org_id,
            period_end=period_end,
            period_start=period_start,
            period_usage=period_usage,
            prepaid=prepaid,
            seq=seq,
            last_event_at=last_event_at,
            open_hold_count=open_hold_count,
            pools=pools,
        )


        balance_at.additional_properties = d
        return balance_at

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
