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
  from ..models.rollover_type_1 import RolloverType1
  from ..models.rollover_type_3 import RolloverType3
  from ..models.rollover_type_0 import RolloverType0
  from ..models.rollover_type_2 import RolloverType2





T = TypeVar("T", bound="CataloguePlanRequest")



@_attrs_define
class CataloguePlanRequest:
    """ `PUT /api/plans/{plan_id}`: the plan offered (the fields of `PUT …/plan`)
    and how it is shown.

        Attributes:
            credits_per_period (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            currency (str): The price's currency.
            identities_included (int): Identities the plan counts conversations for.
            name (str): The plan's name.
            price (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            conversations_per_identity (Union[None, Unset, int]): Default 500.
            description (Union[None, Unset, str]): A line about the plan, 1–200 characters.
            price_book (Union[None, Unset, str]): The price book the plan's priced operations use (it must exist).
            price_text (Union[None, Unset, str]): How the price is shown (e.g. `49 € / month`), 1–200 characters;
                default: the price and currency.
            rollover (Union['RolloverType0', 'RolloverType1', 'RolloverType2', 'RolloverType3', None, Unset]):
     """

    credits_per_period: Union[float, str]
    currency: str
    identities_included: int
    name: str
    price: Union[float, str]
    conversations_per_identity: Union[None, Unset, int] = UNSET
    description: Union[None, Unset, str] = UNSET
    price_book: Union[None, Unset, str] = UNSET
    price_text: Union[None, Unset, str] = UNSET
    rollover: Union['RolloverType0', 'RolloverType1', 'RolloverType2', 'RolloverType3', None, Unset] = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.rollover_type_1 import RolloverType1
        from ..models.rollover_type_3 import RolloverType3
        from ..models.rollover_type_0 import RolloverType0
        from ..models.rollover_type_2 import RolloverType2
        credits_per_period: Union[float, str]
        credits_per_period = self.credits_per_period

        currency = self.currency

        identities_included = self.identities_included

        name = self.name

        price: Union[float, str]
        price = self.price

        conversations_per_identity: Union[None, Unset, int]
        if isinstance(self.conversations_per_identity, Unset):
            conversations_per_identity = UNSET
        else:
            conversations_per_identity = self.conversations_per_identity

        description: Union[None, Unset, str]
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        price_book: Union[None, Unset, str]
        if isinstance(self.price_book, Unset):
            price_book = UNSET
        else:
            price_book = self.price_book

        price_text: Union[None, Unset, str]
        if isinstance(self.price_text, Unset):
            price_text = UNSET
        else:
            price_text = self.price_text

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
            "credits_per_period": credits_per_period,
            "currency": currency,
            "identities_included": identities_included,
            "name": name,
            "price": price,
        })
        if conversations_per_identity is not UNSET:
            field_dict["conversations_per_identity"] = conversations_per_identity
        if description is not UNSET:
            field_dict["description"] = description
        if price_book is not UNSET:
            field_dict["price_book"] = price_book
        if price_text is not UNSET:
            field_dict["price_text"] = price_text
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
        def _parse_credits_per_period(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        credits_per_period = _parse_credits_per_period(d.pop("credits_per_period"))


        currency = d.pop("currency")

        identities_included = d.pop("identities_included")

        name = d.pop("name")

        def _parse_price(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        price = _parse_price(d.pop("price"))


        def _parse_conversations_per_identity(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        conversations_per_identity = _parse_conversations_per_identity(d.pop("conversations_per_identity", UNSET))


        def _parse_description(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        description = _parse_description(d.pop("description", UNSET))


        def _parse_price_book(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        price_book = _parse_price_book(d.pop("price_book", UNSET))


        def _parse_price_text(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        price_text = _parse_price_text(d.pop("price_text", UNSET))


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


        catalogue_plan_request = cls(
            credits_per_period=credits_per_period,
            currency=currency,
            identities_included=identities_included,
            name=name,
            price=price,
            conversations_per_identity=conversations_per_identity,
            description=description,
            price_book=price_book,
            price_text=price_text,
            rollover=rollover,
        )

        return catalogue_plan_request

