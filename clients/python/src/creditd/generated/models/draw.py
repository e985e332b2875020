from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.pool import Pool
from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="Draw")



@_attrs_define
class Draw:
    """ Part of an amount taken from one block (or, with no block, from the
    overdraft allowance).

        Attributes:
            amount (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            block_id (Union[None, Unset, str]): The block it came from; `None`: the overdraft.
            expires_at (Union[None, Unset, str]):
            pool (Union[None, Pool, Unset]):
     """

    amount: float
    block_id: Union[None, Unset, str] = UNSET
    expires_at: Union[None, Unset, str] = UNSET
    pool: Union[None, Pool, Unset] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        block_id: Union[None, Unset, str]
        if isinstance(self.block_id, Unset):
            block_id = UNSET
        else:
            block_id = self.block_id

        expires_at: Union[None, Unset, str]
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = self.expires_at

        pool: Union[None, Unset, str]
        if isinstance(self.pool, Unset):
            pool = UNSET
        elif isinstance(self.pool, Pool):
            pool = self.pool.value
        else:
            pool = self.pool


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "amount": amount,
        })
        if block_id is not UNSET:
            field_dict["block_id"] = block_id
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if pool is not UNSET:
            field_dict["pool"] = pool

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        def _parse_block_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        block_id = _parse_block_id(d.pop("block_id", UNSET))


        def _parse_expires_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))


        def _parse_pool(data: object) -> Union[None, Pool, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                pool_type_1 = Pool(data)



                return pool_type_1
            except: # noqa: E722
                pass
            return cast(Union[None, Pool, Unset], data)

        pool = _parse_pool(d.pop("pool", UNSET))


        draw = cls(
            amount=amount,
            block_id=block_id,
            expires_at=expires_at,
            pool=pool,
        )


        draw.additional_properties = d
        return draw

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
