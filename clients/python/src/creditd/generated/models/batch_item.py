from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.op_name import OpName
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.batch_item_body_type_0 import BatchItemBodyType0





T = TypeVar("T", bound="BatchItem")



@_attrs_define
class BatchItem:
    """ One entry of `POST /api/batch`.

        Attributes:
            op (OpName): The operations a request can name, as routes and as `op` in a batch.
            org_id (str): The organisation.
            body (Union['BatchItemBodyType0', None, Unset]): The same body the operation's own route takes.
            hold_id (Union[None, Unset, str]): The hold (debit, release) or purchase (settle) the operation is about.
            idempotency_key (Union[None, Unset, str]): A retry with the same key gets the first answer.
            purchase_id (Union[None, Unset, str]): Settles and reversals: the purchase.
     """

    op: OpName
    org_id: str
    body: Union['BatchItemBodyType0', None, Unset] = UNSET
    hold_id: Union[None, Unset, str] = UNSET
    idempotency_key: Union[None, Unset, str] = UNSET
    purchase_id: Union[None, Unset, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.batch_item_body_type_0 import BatchItemBodyType0
        op = self.op.value

        org_id = self.org_id

        body: Union[None, Unset, dict[str, Any]]
        if isinstance(self.body, Unset):
            body = UNSET
        elif isinstance(self.body, BatchItemBodyType0):
            body = self.body.to_dict()
        else:
            body = self.body

        hold_id: Union[None, Unset, str]
        if isinstance(self.hold_id, Unset):
            hold_id = UNSET
        else:
            hold_id = self.hold_id

        idempotency_key: Union[None, Unset, str]
        if isinstance(self.idempotency_key, Unset):
            idempotency_key = UNSET
        else:
            idempotency_key = self.idempotency_key

        purchase_id: Union[None, Unset, str]
        if isinstance(self.purchase_id, Unset):
            purchase_id = UNSET
        else:
            purchase_id = self.purchase_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "op": op,
            "org_id": org_id,
        })
        if body is not UNSET:
            field_dict["body"] = body
        if hold_id is not UNSET:
            field_dict["hold_id"] = hold_id
        if idempotency_key is not UNSET:
            field_dict["idempotency_key"] = idempotency_key
        if purchase_id is not UNSET:
            field_dict["purchase_id"] = purchase_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.batch_item_body_type_0 import BatchItemBodyType0
        d = dict(src_dict)
        op = OpName(d.pop("op"))




        org_id = d.pop("org_id")

        def _parse_body(data: object) -> Union['BatchItemBodyType0', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                body_type_0 = BatchItemBodyType0.from_dict(data)



                return body_type_0
            except: # noqa: E722
                pass
            return cast(Union['BatchItemBodyType0', None, Unset], data)

        body = _parse_body(d.pop("body", UNSET))


        def _parse_hold_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        hold_id = _parse_hold_id(d.pop("hold_id", UNSET))


        def _parse_idempotency_key(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        idempotency_key = _parse_idempotency_key(d.pop("idempotency_key", UNSET))


        def _parse_purchase_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        purchase_id = _parse_purchase_id(d.pop("purchase_id", UNSET))


        batch_item = cls(
            op=op,
            org_id=org_id,
            body=body,
            hold_id=hold_id,
            idempotency_key=idempotency_key,
            purchase_id=purchase_id,
        )

        return batch_item

