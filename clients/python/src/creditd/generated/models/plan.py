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





T = TypeVar("T", bound="Plan")



@_attrs_define
class Plan:
    """ A subscription plan.

        Attributes:
            credits_per_period (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            currency (str): ISO 4217 code, e.g. `EUR`.
            identities_included (int): Identities that may start conversations each month, at most
                [`MAX_IDENTITIES`].
            name (str): Its name, 1 to [`MAX_NAME_LEN`] characters (trimmed).
            price (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            conversations_per_identity (Union[Unset, int]): Conversations each identity may start per month, at most
                [`MAX_CONVERSATIONS_PER_IDENTITY`] (default
                [`DEFAULT_CONVERSATIONS_PER_IDENTITY`]).
            price_book (Union[None, Unset, str]): The price book its priced operations use (an org's
                `OrgSettings::price_book` wins); none: no prices.
            rollover (Union['RolloverType0', 'RolloverType1', 'RolloverType2', 'RolloverType3', Unset]):
     """

    credits_per_period: float
    currency: str
    identities_included: int
    name: str
    price: float
    conversations_per_identity: Union[Unset, int] = UNSET
    price_book: Union[None, Unset, str] = UNSET
    rollover: Union['RolloverType0', 'RolloverType1', 'RolloverType2', 'RolloverType3', Unset] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.rollover_type_1 import RolloverType1
        from ..models.rollover_type_3 import RolloverType3
        from ..models.rollover_type_0 import RolloverType0
        from ..models.rollover_type_2 import RolloverType2
        credits_per_period = self.credits_per_period

        currency = self.currency

        identities_included = self.identities_included

        name = self.name

        price = self.price

        conversations_per_identity = self.conversations_per_identity

        price_book: Union[None, Unset, str]
        if isinstance(self.price_book, Unset):
            price_book = UNSET
        else:
            price_book = self.price_book

        rollover: Union[Unset, dict[str, Any]]
        if isinstance(self.rollover, Unset):
            rollover = UNSET
        elif isinstance(self.rollover, RolloverType0):
            rollover = self.rollover.to_dict()
        elif isinstance(self.rollover, RolloverType1):
            rollover = self.rollover.to_dict()
        elif isinstance(self.rollover, RolloverType2):
            rollover = self.rollover.to_dict()
        else:
            rollover = self.rollover.to_dict()



        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "credits_per_period": credits_per_period,
            "currency": currency,
            "identities_included": identities_included,
            "name": name,
            "price": price,
        })
        if conversations_per_identity is not UNSET:
            field_dict["conversations_per_identity"] = conversations_per_identity
        if price_book is not UNSET:
            field_dict["price_book"] = price_book
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
        credits_per_period = d.pop("credits_per_period")

        currency = d.pop("currency")

        identities_included = d.pop("identities_included")

        name = d.pop("name")

        price = d.pop("price")

        conversations_per_identity = d.pop("conversations_per_identity", UNSET)

        def _parse_price_book(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        price_book = _parse_price_book(d.pop("price_book", UNSET))


        def _parse_rollover(data: object) -> Union['RolloverType0', 'RolloverType1', 'RolloverType2', 'RolloverType3', Unset]:
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
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_rollover_type_3 = RolloverType3.from_dict(data)



            return componentsschemas_rollover_type_3

        rollover = _parse_rollover(d.pop("rollover", UNSET))


        plan = cls(
            credits_per_period=credits_per_period,
            currency=currency,
            identities_included=identities_included,
            name=name,
            price=price,
            conversations_per_identity=conversations_per_identity,
            price_book=price_book,
            rollover=rollover,
        )


        plan.additional_properties = d
        return plan

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
