from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="BrokenLink")



@_attrs_define
class BrokenLink:
    """ The first event whose stored hash does not follow from the one before it.

        Attributes:
            recomputed_hash (str): What the previous stored hash and the event's stored content give.
            seq (int): The event whose link is broken.
            what (str): What this means, in one sentence (an edited row, a missing hash, …).
            stored_hash (Union[None, Unset, str]): The hash stored with the event (none: the row has no hash).
     """

    recomputed_hash: str
    seq: int
    what: str
    stored_hash: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        recomputed_hash = self.recomputed_hash

        seq = self.seq

        what = self.what

        stored_hash: Union[None, Unset, str]
        if isinstance(self.stored_hash, Unset):
            stored_hash = UNSET
        else:
            stored_hash = self.stored_hash


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "recomputed_hash": recomputed_hash,
            "seq": seq,
            "what": what,
        })
        if stored_hash is not UNSET:
            field_dict["stored_hash"] = stored_hash

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        recomputed_hash = d.pop("recomputed_hash")

        seq = d.pop("seq")

        what = d.pop("what")

        def _parse_stored_hash(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        stored_hash = _parse_stored_hash(d.pop("stored_hash", UNSET))


        broken_link = cls(
            recomputed_hash=recomputed_hash,
            seq=seq,
            what=what,
            stored_hash=stored_hash,
        )


        broken_link.additional_properties = d
        return broken_link

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
