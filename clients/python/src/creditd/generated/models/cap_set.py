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
  from ..models.cap_view import CapView
  from ..models.cap_subject_type_1 import CapSubjectType1





T = TypeVar("T", bound="CapSet")



@_attrs_define
class CapSet:
    """ `PUT …/caps`: the subject and its cap now (null: removed).

        Attributes:
            subject (Union['CapSubjectType0', 'CapSubjectType1', 'CapSubjectType2']): Whose spending a cap limits.
            cap (Union['CapView', None, Unset]):
     """

    subject: Union['CapSubjectType0', 'CapSubjectType1', 'CapSubjectType2']
    cap: Union['CapView', None, Unset] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.cap_subject_type_0 import CapSubjectType0
        from ..models.cap_subject_type_2 import CapSubjectType2
        from ..models.cap_view import CapView
        from ..models.cap_subject_type_1 import CapSubjectType1
        subject: dict[str, Any]
        if isinstance(self.subject, CapSubjectType0):
            subject = self.subject.to_dict()
        elif isinstance(self.subject, CapSubjectType1):
            subject = self.subject.to_dict()
        else:
            subject = self.subject.to_dict()


        cap: Union[None, Unset, dict[str, Any]]
        if isinstance(self.cap, Unset):
            cap = UNSET
        elif isinstance(self.cap, CapView):
            cap = self.cap.to_dict()
        else:
            cap = self.cap


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "subject": subject,
        })
        if cap is not UNSET:
            field_dict["cap"] = cap

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cap_subject_type_0 import CapSubjectType0
        from ..models.cap_subject_type_2 import CapSubjectType2
        from ..models.cap_view import CapView
        from ..models.cap_subject_type_1 import CapSubjectType1
        d = dict(src_dict)
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


        def _parse_cap(data: object) -> Union['CapView', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                cap_type_1 = CapView.from_dict(data)



                return cap_type_1
            except: # noqa: E722
                pass
            return cast(Union['CapView', None, Unset], data)

        cap = _parse_cap(d.pop("cap", UNSET))


        cap_set = cls(
            subject=subject,
            cap=cap,
        )


        cap_set.additional_properties = d
        return cap_set

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
