from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.effective import Effective
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.rollover_type_1 import RolloverType1
  from ..models.rollover_type_3 import RolloverType3
  from ..models.rollover_type_0 import RolloverType0
  from ..models.rollover_type_2 import RolloverType2





T = TypeVar("T", bound="PutPlanRequest")



@_attrs_define
class PutPlanRequest:
    """ `PUT …/plan`: subscribe (default `effective: now`: this period's
    credits at once) or change the plan (default `effective: next_period`;
    `now` replaces this period's unused plan credits with the new
    allocation). `renewal_day` (1–28) sets the anchor when subscribing.
    The plan is either described in full (`name`, `credits_per_period`,
    `identities_included`, `price`, `currency`, and the optional fields) or
    named from the catalogue (`plan_id` alone, with `effective` and
    `renewal_day`): the organisation gets a copy of the catalogue's plan as
    it is now, which later catalogue changes do not rewrite.

        Attributes:
            conversations_per_identity (Union[None, Unset, int]): Default 500.
            credits_per_period (Union[None, Unset, float, str]):
            currency (Union[None, Unset, str]): The price's currency.
            effective (Union[Effective, None, Unset]):
            identities_included (Union[None, Unset, int]): Identities the plan counts conversations for.
            name (Union[None, Unset, str]): The plan's name.
            plan_id (Union[None, Unset, str]): A plan of the catalogue (`PUT /api/plans/{plan_id}`), instead of
                the fields below.
            price (Union[None, Unset, float, str]):
            price_book (Union[None, Unset, str]): The price book the plan's priced operations use (it must exist;
                an organisation's own `price_book` setting wins).
            renewal_day (Union[None, Unset, int]): The anchor day when subscribing.
            rollover (Union['RolloverType0', 'RolloverType1', 'RolloverType2', 'RolloverType3', None, Unset]):
     """

    conversations_per_identity: Union[None, Unset, int] = UNSET
    credits_per_period: Union[None, Unset, float, str] = UNSET
    currency: Union[None, Unset, str] = UNSET
    effective: Union[Effective, None, Unset] = UNSET
    identities_included: Union[None, Unset, int] = UNSET
    name: Union[None, Unset, str] = UNSET
    plan_id: Union[None, Unset, str] = UNSET
    price: Union[None, Unset, float, str] = UNSET
    price_book: Union[None, Unset, str] = UNSET
    renewal_day: Union[None, Unset, int] = UNSET
    rollover: Union['RolloverType0', 'RolloverType1', 'RolloverType2', 'RolloverType3', None, Unset] = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.rollover_type_1 import RolloverType1
        from ..models.rollover_type_3 import RolloverType3
        from ..models.rollover_type_0 import RolloverType0
        from ..models.rollover_type_2 import RolloverType2
        conversations_per_identity: Union[None, Unset, int]
        if isinstance(self.conversations_per_identity, Unset):
            conversations_per_identity = UNSET
        else:
            conversations_per_identity = self.conversations_per_identity

        credits_per_period: Union[None, Unset, float, str]
        if isinstance(self.credits_per_period, Unset):
            credits_per_period = UNSET
        else:
            credits_per_period = self.credits_per_period

        currency: Union[None, Unset, str]
        if isinstance(self.currency, Unset):
            currency = UNSET
        else:
            currency = self.currency

        effective: Union[None, Unset, str]
        if isinstance(self.effective, Unset):
            effective = UNSET
        elif isinstance(self.effective, Effective):
            effective = self.effective.value
        else:
            effective = self.effective

        identities_included: Union[None, Unset, int]
        if isinstance(self.identities_included, Unset):
            identities_included = UNSET
        else:
            identities_included = self.identities_included

        name: Union[None, Unset, str]
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        plan_id: Union[None, Unset, str]
        if isinstance(self.plan_id, Unset):
            plan_id = UNSET
        else:
            plan_id = self.plan_id

        price: Union[None, Unset, float, str]
        if isinstance(self.price, Unset):
            price = UNSET
        else:
            price = self.price

        price_book: Union[None, Unset, str]
        if isinstance(self.price_book, Unset):
            price_book = UNSET
        else:
            price_book = self.price_book

        renewal_day: Union[None, Unset, int]
        if isinstance(self.renewal_day, Unset):
            renewal_day = UNSET
        else:
            renewal_day = self.renewal_day

        rollover: Union[None, Unset, dict[str, Any]]
        if isinstance(self.rollover, Unset):
            rollover = UNSET
        elif isinstance(self.rollover, RolloverType0):
            rollover = self.rollover.to_dict()
        elif isinstance(self.rollover, RolloverType1):
            rollover = self.rollover.to_dict()
        elif isinstance(self.rollover, RolloverType2):
            rollover = self.rollover.to_dict()
        elif isinstance(self.rollover, RolloverType3):
            rollover = self.rollover.to_dict()
        else:
            rollover = self.rollover


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if conversations_per_identity is not UNSET:
            field_dict["conversations_per_identity"] = conversations_per_identity
        if credits_per_period is not UNSET:
            field_dict["credits_per_period"] = credits_per_period
        if currency is not UNSET:
            field_dict["currency"] = currency
        if effective is not UNSET:
            field_dict["effective"] = effective
        if identities_included is not UNSET:
            field_dict["identities_included"] = identities_included
        if name is not UNSET:
            field_dict["name"] = name
        if plan_id is not UNSET:
            field_dict["plan_id"] = plan_id
        if price is not UNSET:
            field_dict["price"] = price
        if price_book is not UNSET:
            field_dict["price_book"] = price_book
        if renewal_day is not UNSET:
            field_dict["renewal_day"] = renewal_day
        if rollover is not UNSET:
            field_dict["rollover"] = rollover

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.rollover_type_1 import RolloverType1
        from ..models.rollover_type_3 import RolloverType3
        from ..models.rollover_type_0 import RolloverType0
        from ..models.rollover_type_2 import RolloverType2
        d = dict(src_dict)
        def _parse_conversations_per_identity(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        conversations_per_identity = _parse_conversations_per_identity(d.pop("conversations_per_identity", UNSET))


        def _parse_credits_per_period(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        credits_per_period = _parse_credits_per_period(d.pop("credits_per_period", UNSET))


        def _parse_currency(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        currency = _parse_currency(d.pop("currency", UNSET))


        def _parse_effective(data: object) -> Union[Effective, None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                effective_type_1 = Effective(data)



                return effective_type_1
            except: # noqa: E722
                pass
            return cast(Union[Effective, None, Unset], data)

        effective = _parse_effective(d.pop("effective", UNSET))


        def _parse_identities_included(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        identities_included = _parse_identities_included(d.pop("identities_included", UNSET))


        def _parse_name(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        name = _parse_name(d.pop("name", UNSET))


        def _parse_plan_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        plan_id = _parse_plan_id(d.pop("plan_id", UNSET))


        def _parse_price(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        price = _parse_price(d.pop("price", UNSET))


        def _parse_price_book(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        price_book = _parse_price_book(d.pop("price_book", UNSET))


        def _parse_renewal_day(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        renewal_day = _parse_renewal_day(d.pop("renewal_day", UNSET))


        def _parse_rollover(data: object) -> Union['RolloverType0', 'RolloverType1', 'RolloverType2', 'RolloverType3', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_rollover_type_0 = RolloverType0.from_dict(data)



                return componentsschemas_rollover_type_0
            except: # noqa: E722
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_rollover_type_1 = RolloverType1.from_dict(data)



                return componentsschemas_rollover_type_1
            except: # noqa: E722
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_rollover_type_2 = RolloverType2.from_dict(data)



                return componentsschemas_rollover_type_2
            except: # noqa: E722
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_rollover_type_3 = RolloverType3.from_dict(data)



                return componentsschemas_rollover_type_3
            except: # noqa: E722
                pass
            return cast(Union['RolloverType0', 'RolloverType1', 'RolloverType2', 'RolloverType3', None, Unset], data)

        rollover = _parse_rollover(d.pop("rollover", UNSET))


        put_plan_request = cls(
            conversations_per_identity=conversations_per_identity,
            credits_per_period=credits_per_period,
            currency=currency,
            effective=effective,
            identities_included=identities_included,
            name=name,
            plan_id=plan_id,
            price=price,
            price_book=price_book,
            renewal_day=renewal_day,
            rollover=rollover,
        )

        return put_plan_request

