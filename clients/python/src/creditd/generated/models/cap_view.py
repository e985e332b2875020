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
  from ..models.cap_subject_type_0 import CapSubjectType0
  from ..models.cap_subject_type_2 import CapSubjectType2
  from ..models.cap_subject_type_1 import CapSubjectType1





T = TypeVar("T", bound="CapView")



@_attrs_define
class CapView:
    """ A cap as shown in the balance and summary: limit, used, left.

        Attributes:
            limit (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            remaining (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            subject (Union['CapSubjectType0', 'CapSubjectType1', 'CapSubjectType2']): Whose spending a cap limits.
            used (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            period_end (Union[None, Unset, str]):
            period_start (Union[None, Unset, str]):
     """

    limit: float
    remaining: float
    subject: Union['CapSubjectType0', 'CapSubjectType1', 'CapSubjectType2']
    used: float
    period_end: Union[None, Unset, str] = UNSET
    period_start: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.cap_subject_type_0 import CapSubjectType0
        from ..models.cap_subject_type_2 import CapSubjectType2
        from ..models.cap_subject_type_1 import CapSubjectType1
        limit = self.limit

        remaining = self.remaining

        subject: dict[str, Any]
        if isinstance(self.subject, CapSubjectType0):
            subject = self.subject.to_dict()
        elif isinstance(self.subject, CapSubjectType1):
            subject = self.subject.to_dict()
        else:
            subject = self.subject.to_dict()


        used = self.used

        period_end: Union[None, Unset, str]
        if isinstance(self.period_end, Unset):
            period_end = UNSET
        else:
            period_end = self.period_end

        period_start: Union[None, Unset, str]
        if isinstance(self.period_start, Unset):
            period_start = UNSET
        else:
            period_start = self.period_start


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "limit": limit,
            "remaining": remaining,
            "subject": subject,
            "used": used,
        })
        if period_end is not UNSET:
            field_dict["period_end"] = period_end
        if period_start is not UNSET:
            field_dict["period_start"] = period_start

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cap_subject_type_0 import CapSubjectType0
        from ..models.cap_subject_type_2 import CapSubjectType2
        from ..models.cap_subject_type_1 import CapSubjectType1
        d = dict(src_dict)
        limit = d.pop("limit")

        remaining = d.pop("remaining")

        def _parse_subject(data: object) -> Union['CapSubjectType0', 'CapSubjectType1', 'CapSubjectType2']:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_cap_subject_type_0 = CapSubjectType0.from_dict(data)



                return componentsschemas_cap_subject_type_0
            except: # noqa: E722
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_cap_subject_type_1 = CapSubjectType1.from_dict(data)



                return componentsschemas_cap_subject_type_1
            except: # noqa: E722
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_cap_subject_type_2 = CapSubjectType2.from_dict(data)



            return componentsschemas_cap_subject_type_2

        subject = _parse_subject(d.pop("subject"))


        used = d.pop("used")

        def _parse_period_end(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        period_end = _parse_period_end(d.pop("period_end", UNSET))


        def _parse_period_start(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        period_start = _parse_period_start(d.pop("period_start", UNSET))


        cap_view = cls(
            limit=limit,
            remaining=remaining,
            subject=subject,
            used=used,
            period_end=period_end,
            period_start=period_start,
        )


        cap_view.additional_properties = d
        return cap_view

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
