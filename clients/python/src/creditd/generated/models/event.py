from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.event_kind import EventKind
from ..models.pool import Pool
from ..models.status import Status
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.pricing import Pricing
  from ..models.free_pools import FreePools





T = TypeVar("T", bound="Event")



@_attrs_define
class Event:
    """ One immutable entry of an organisation's credit history.

    `amount` is the signed change the event makes: for grants, purchases,
    vouchers, subscription credits, releases, refunds and positive adjustments
    it is what was added to available credits; for holds, usage, expiry and
    negative adjustments what left them; for a debit it is the held credits
    consumed (available does not move). A purchase that is `processing` or
    `failed` carries its amount but moves no balance.

        Attributes:
            amount (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            balance_after (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            created_at (str):
            held_after (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            id (str): `evt_<seq>` ([`Event::id_for`]).
            kind (EventKind): What happened. Seed aliases (`prepaid_purchase`, `reservation`,
                `reservation_released`) are accepted when parsing.
            org_id (str): The organisation.
            period_usage_after (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            prepaid_balance_after (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            seq (int): Per-org sequence number: from 1, no gaps.
            status (Status): The state of the transaction behind an event (FPT: Success, Processed, Failed).
            activity (Union[None, Unset, str]): [`EventCtx::activity`] of the operation.
            code (Union[None, Unset, str]): A voucher's code or a credit's reference, if one was given.
            description (Union[None, Unset, str]): [`EventCtx::description`] of the operation (or the ledger's own).
            hold_id (Union[None, Unset, str]): The hold, usage or purchase this event belongs to.
            idempotency_key (Union[None, Unset, str]): The caller's idempotency key, on the first own event of the
                operation that carried it (never on an expiry it caused).
            metadata (Union[Unset, Any]): [`EventCtx::metadata`] of the operation (an adjustment adds its
                `reason`).
            pool (Union[None, Pool, Unset]):
            pools_after (Union['FreePools', None, Unset]):
            pricing (Union['Pricing', None, Unset]):
            project_id (Union[None, Unset, str]): [`EventCtx::project_id`] of the operation.
            project_name (Union[None, Unset, str]): [`EventCtx::project_name`] of the operation.
            service (Union[None, Unset, str]): [`EventCtx::service`] of the operation.
            source (Union[None, Unset, str]): [`EventCtx::source`] of the operation.
            user_email (Union[None, Unset, str]): [`EventCtx::user_email`] of the operation.
            user_name (Union[None, Unset, str]): [`EventCtx::user_name`] of the operation.
     """

    amount: float
    balance_after: float
    created_at: str
    held_after: float
    id: str
    kind: EventKind
    org_id: str
    period_usage_after: float
    prepaid_balance_after: float
    seq: int
    status: Status
    activity: Union[None, Unset, str] = UNSET
    code: Union[None, Unset, str] = UNSET
    description: Union[None, Unset, str] = UNSET
    hold_id: Union[None, Unset, str] = UNSET
    idempotency_key: Union[None, Unset, str] = UNSET
    metadata: Union[Unset, Any] = UNSET
    pool: Union[None, Pool, Unset] = UNSET
    pools_after: Union['FreePools', None, Unset] = UNSET
    pricing: Union['Pricing', None, Unset] = UNSET
    project_id: Union[None, Unset, str] = UNSET
    project_name: Union[None, Unset, str] = UNSET
    service: Union[None, Unset, str] = UNSET
    source: Union[None, Unset, str] = UNSET
    user_email: Union[None, Unset, str] = UNSET
    user_name: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.pricing import Pricing
        from ..models.free_pools import FreePools
        amount = self.amount

        balance_after = self.balance_after

        created_at = self.created_at

        held_after = self.held_after

        id = self.id

        kind = self.kind.value

        org_id = self.org_id

        period_usage_after = self.period_usage_after

        prepaid_balance_after = self.prepaid_balance_after

        seq = self.seq

        status = self.status.value

        activity: Union[None, Unset, str]
        if isinstance(self.activity, Unset):
            activity = UNSET
        else:
            activity = self.activity

        code: Union[None, Unset, str]
        if isinstance(self.code, Unset):
            code = UNSET
        else:
            code = self.code

        description: Union[None, Unset, str]
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        hold_id: Union[None, Unset, str]
        if isinstance(self.hold_id, Unset):
            hold_id = UNSET
        else:
            hold_id = self.hold_id

        idempotency_key: Union[None, Unset, str]
        if isinstance(self.idempotency_key, Unset):
            idempotency_key = UNSET
        else:
            idempotency_key = self.idempotency_key

        metadata = self.metadata

        pool: Union[None, Unset, str]
        if isinstance(self.pool, Unset):
            pool = UNSET
        elif isinstance(self.pool, Pool):
            pool = self.pool.value
        else:
            pool = self.pool

        pools_after: Union[None, Unset, dict[str, Any]]
        if isinstance(self.pools_after, Unset):
            pools_after = UNSET
        elif isinstance(self.pools_after, FreePools):
            pools_after = self.pools_after.to_dict()
        else:
            pools_after = self.pools_after

        pricing: Union[None, Unset, dict[str, Any]]
        if isinstance(self.pricing, Unset):
            pricing = UNSET
        elif isinstance(self.pricing, Pricing):
            pricing = self.pricing.to_dict()
        else:
            pricing = self.pricing

        project_id: Union[None, Unset, str]
        if isinstance(self.project_id, Unset):
            project_id = UNSET
        else:
            project_id = self.project_id

        project_name: Union[None, Unset, str]
        if isinstance(self.project_name, Unset):
            project_name = UNSET
        else:
            project_name = self.project_name

        service: Union[None, Unset, str]
        if isinstance(self.service, Unset):
            service = UNSET
        else:
            service = self.service

        source: Union[None, Unset, str]
        if isinstance(self.source, Unset):
            source = UNSET
        else:
            source = self.source

        user_email: Union[None, Unset, str]
        if isinstance(self.user_email, Unset):
            user_email = UNSET
        else:
            user_email = self.user_email

        user_name: Union[None, Unset, str]
        if isinstance(self.user_name, Unset):
            user_name = UNSET
        else:
            user_name = self.user_name


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "amount": amount,
            "balance_after": balance_after,
            "created_at": created_at,
            "held_after": held_after,
            "id": id,
            "kind": kind,
            "org_id": org_id,
            "period_usage_after": period_usage_after,
            "prepaid_balance_after": prepaid_balance_after,
            "seq": seq,
            "status": status,
        })
        if activity is not UNSET:
            field_dict["activity"] = activity
        if code is not UNSET:
            field_dict["code"] = code
        if description is not UNSET:
            field_dict["description"] = description
        if hold_id is not UNSET:
            field_dict["hold_id"] = hold_id
        if idempotency_key is not UNSET:
            field_dict["idempotency_key"] = idempotency_key
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if pool is not UNSET:
            field_dict["pool"] = pool
        if pools_after is not UNSET:
            field_dict["pools_after"] = pools_after
        if pricing is not UNSET:
            field_dict["pricing"] = pricing
        if project_id is not UNSET:
            field_dict["project_id"] = project_id
        if project_name is not UNSET:
            field_dict["project_name"] = project_name
        if service is not UNSET:
            field_dict["service"] = service
        if source is not UNSET:
            field_dict["source"] = source
        if user_email is not UNSET:
            field_dict["user_email"] = user_email
        if user_name is not UNSET:
            field_dict["user_name"] = user_name

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.pricing import Pricing
        from ..models.free_pools import FreePools
        d = dict(src_dict)
        amount = d.pop("amount")

        balance_after = d.pop("balance_after")

        created_at = d.pop("created_at")

        held_after = d.pop("held_after")

        id = d.pop("id")

        kind = EventKind(d.pop("kind"))




        org_id = d.pop("org_id")

        period_usage_after = d.pop("period_usage_after")

        prepaid_balance_after = d.pop("prepaid_balance_after")

        seq = d.pop("seq")

        status = Status(d.pop("status"))




        def _parse_activity(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        activity = _parse_activity(d.pop("activity", UNSET))


        def _parse_code(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        code = _parse_code(d.pop("code", UNSET))


        def _parse_description(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        description = _parse_description(d.pop("description", UNSET))


        def _parse_hold_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        hold_id = _parse_hold_id(d.pop("hold_id", UNSET))


        def _parse_idempotency_key(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        idempotency_key = _parse_idempotency_key(d.pop("idempotency_key", UNSET))


        metadata = d.pop("metadata", UNSET)

        def _parse_pool(data: object) -> Union[None, Pool, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                pool_type_1 = Pool(data)



                return pool_type_1
            except: # noqa: E722
                pass
            return cast(Union[None, Pool, Unset], data)

        pool = _parse_pool(d.pop("pool", UNSET))


        def _parse_pools_after(data: object) -> Union['FreePools', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                pools_after_type_1 = FreePools.from_dict(data)



                return pools_after_type_1
            except: # noqa: E722
                pass
            return cast(Union['FreePools', None, Unset], data)

        pools_after = _parse_pools_after(d.pop("pools_after", UNSET))


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


        def _parse_project_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        project_id = _parse_project_id(d.pop("project_id", UNSET))


        def _parse_project_name(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        project_name = _parse_project_name(d.pop("project_name", UNSET))


        def _parse_service(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        service = _parse_service(d.pop("service", UNSET))


        def _parse_source(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        source = _parse_source(d.pop("source", UNSET))


        def _parse_user_email(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        user_email = _parse_user_email(d.pop("user_email", UNSET))


        def _parse_user_name(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        user_name = _parse_user_name(d.pop("user_name", UNSET))


        event = cls(
            amount=amount,
            balance_after=balance_after,
            created_at=created_at,
            held_after=held_after,
            id=id,
            kind=kind,
            org_id=org_id,
            period_usage_after=period_usage_after,
            prepaid_balance_after=prepaid_balance_after,
            seq=seq,
            status=status,
            activity=activity,
            code=code,
            description=description,
            hold_id=hold_id,
            idempotency_key=idempotency_key,
            metadata=metadata,
            pool=pool,
            pools_after=pools_after,
            pricing=pricing,
            project_id=project_id,
            project_name=project_name,
            service=service,
            source=source,
            user_email=user_email,
            user_name=user_name,
        )


        event.additional_properties = d
        return event

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
