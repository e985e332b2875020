from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.error_detail import ErrorDetail





T = TypeVar("T", bound="BatchResultType1")



@_attrs_define
class BatchResultType1:
    """ The operation was refused; nothing of it was written.

        Attributes:
            error (ErrorDetail):
            ok (bool): Always false here.
            status (int): The status its own route would have answered.
     """

    error: 'ErrorDetail'
    ok: bool
    status: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.error_detail import ErrorDetail
        error = self.error.to_dict()

        ok = self.ok

        status = self.status


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "error": error,
            "ok": ok,
            "status": status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.error_detail import ErrorDetail
        d = dict(src_dict)
        error = ErrorDetail.from_dict(d.pop("error"))




        ok = d.pop("ok")

        status = d.pop("status")

        batch_result_type_1 = cls(
            error=error,
            ok=ok,
            status=status,
        )


        batch_result_type_1.additional_properties = d
        return batch_result_type_1

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
