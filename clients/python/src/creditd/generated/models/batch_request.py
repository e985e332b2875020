from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.batch_item import BatchItem





T = TypeVar("T", bound="BatchRequest")



@_attrs_define
class BatchRequest:
    """ `POST /api/batch`

        Attributes:
            operations (list['BatchItem']): 1 to 1,000 operations, applied in order.
     """

    operations: list['BatchItem']





    def to_dict(self) -> dict[str, Any]:
        from ..models.batch_item import BatchItem
        operations = []
        for operations_item_data in self.operations:
            operations_item = operations_item_data.to_dict()
            operations.append(operations_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "operations": operations,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.batch_item import BatchItem
        d = dict(src_dict)
        operations = []
        _operations = d.pop("operations")
        for operations_item_data in (_operations):
            operations_item = BatchItem.from_dict(operations_item_data)



            operations.append(operations_item)


        batch_request = cls(
            operations=operations,
        )

        return batch_request

