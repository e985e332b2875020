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
  from ..models.pricing import Pricing
  from ..models.cap_view import CapView





T = TypeVar("T", bound="CheckAnswer")



@_attrs_define
class CheckAnswer:
    """ The answer of a check: whether the operation would be accepted now, and
    why not.

        Attributes:
            allowed (bool): Whether the operation would be accepted now.
            available (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            caps (list['CapView']): The caps with a limit it would count against (the member's, the
                key's, the project's), with what is left of each this period.
            cost (Union[None, Unset, float, str]):
            message (Union[None, Unset, str]): Refused: the message the operation itself would answer.
            pricing (Union['Pricing', None, Unset]):
            reason (Union[None, Unset, str]): Refused: the error code the operation itself would answer
                (`insufficient_credits`, `cap_exceeded`, `unknown_price`, …).
     """

    allowed: bool
    available: Union[float, str]
    caps: list['CapView']
    cost: Union[None, Unset, float, str] = UNSET
    message: Union[None, Unset, str] = UNSET
    pricing: Union['Pricing', None, Unset] = UNSET
    reason: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.pricing import Pricing
        from ..models.cap_view import CapView
        allowed = self.allowed

        available: Union[float, str]
        available = self.available

        caps = []
        for caps_item_data in self.caps:
            caps_item = caps_item_data.to_dict()
            caps.append(caps_item)



        cost: Union[None, Unset, float, str]
        if isinstance(self.cost, Unset):
            cost = UNSET
        else:
            cost = self.cost

        message: Union[None, Unset, str]
        if isinstance(self.message, Unset):
            message = UNSET
        else:
            message = self.message

        pricing: Union[None, Unset, dict[str, Any]]
        if isinstance(self.pricing, Unset):
            pricing = UNSET
        elif isinstance(self.pricing, Pricing):
            pricing = self.pricing.to_dict()
        else:
            pricing = self.pricing

        reason: Union[None, Unset, str]
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "allowed": allowed,
            "available": available,
            "caps": caps,
        })
        if cost is not UNSET:
            field_dict["cost"] = cost
        if message is not UNSET:
            field_dict["message"] = message
        if pricing is not UNSET:
            field_dict["pricing"] = pricing
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.pricing import Pricing
        from ..models.cap_view import CapView
        d = dict(src_dict)
        allowed = d.pop("allowed")

        def _parse_available(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        available = _parse_available(d.pop("available"))


        caps = []
        _caps = d.pop("caps")
        for caps_item_data in (_caps):
            caps_item = CapView.from_dict(caps_item_data)



            caps.append(caps_item)


        def _parse_cost(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        cost = _parse_cost(d.pop("cost", UNSET))


        def _parse_message(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        message = _parse_message(d.pop("message", UNSET))


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


        def _parse_reason(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        reason = _parse_reason(d.pop("reason", UNSET))


        check_answer = cls(
            allowed=allowed,
            available=available,
            caps=caps,
            cost=cost,
            message=message,
            pricing=pricing,
            reason=reason,
        )


        check_answer.additional_properties = d
        return check_answer

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
