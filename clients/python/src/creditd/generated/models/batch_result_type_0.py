from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.write_result import WriteResult





T = TypeVar("T", bound="BatchResultType0")



@_attrs_define
class BatchResultType0:
    """ The operation was applied.

        Attributes:
            ok (bool): Always true here.
            result (WriteResult): What a write answers: the events it made, the balance after, and the
                hold, usage or purchase it made or changed under its own name.
            status (int): The status its own route would have answered.
     """

    ok: bool
    result: 'WriteResult'
    status: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.write_result import WriteResult
        ok = self.ok

        result = self.result.to_dict()

        status = self.status


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "ok": ok,
            "result": result,
            "status": status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.write_result import WriteResult
        d = dict(src_dict)
        ok = d.pop("ok")

        result = WriteResult.from_dict(d.pop("result"))




        status = d.pop("status")

        batch_result_type_0 = cls(
            ok=ok,
            result=result,
            status=status,
        )


        batch_result_type_0.additional_properties = d
        return batch_result_type_0

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
