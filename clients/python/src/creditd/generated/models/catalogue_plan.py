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
  from ..models.plan import Plan





T = TypeVar("T", bound="CataloguePlan")



@_attrs_define
class CataloguePlan:
    """ One plan the operator offers.

        Attributes:
            id (str): The plan's id in the catalogue (the grammar of new ids: 1–64
                letters, digits, `-`, `_`, `.`).
            plan (Plan): A subscription plan.
            updated_at (str):
            description (Union[None, Unset, str]): A line about the plan, shown with it.
            price_text (Union[None, Unset, str]): How the price is shown (e.g. `449 € / month`); none: the plan's
                price and currency.
     """

    id: str
    plan: 'Plan'
    updated_at: str
    description: Union[None, Unset, str] = UNSET
    price_text: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.plan import Plan
        id = self.id

        plan = self.plan.to_dict()

        updated_at = self.updated_at

        description: Union[None, Unset, str]
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        price_text: Union[None, Unset, str]
        if isinstance(self.price_text, Unset):
            price_text = UNSET
        else:
            price_text = self.price_text


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "plan": plan,
            "updated_at": updated_at,
        })
        if description is not UNSET:
            field_dict["description"] = description
        if price_text is not UNSET:
            field_dict["price_text"] = price_text

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.plan import Plan
        d = dict(src_dict)
        id = d.pop("id")

        plan = Plan.from_dict(d.pop("plan"))




        updated_at = d.pop("updated_at")

        def _parse_description(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        description = _parse_description(d.pop("description", UNSET))


        def _parse_price_text(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        price_text = _parse_price_text(d.pop("price_text", UNSET))


        catalogue_plan = cls(
            id=id,
            plan=plan,
            updated_at=updated_at,
            description=description,
            price_text=price_text,
        )


        catalogue_plan.additional_properties = d
        return catalogue_plan

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
