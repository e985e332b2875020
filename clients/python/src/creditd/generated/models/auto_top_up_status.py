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
  from ..models.top_up_pause import TopUpPause
  from ..models.pending_top_up import PendingTopUp





T = TypeVar("T", bound="AutoTopUpStatus")



@_attrs_define
class AutoTopUpStatus:
    """ Auto top-up in one line: the summary's.

        Attributes:
            status (str): `off` (no rule), `active`, `disabled` (`enabled: false`) or
                `paused` (see `paused`).
            paused (Union['TopUpPause', None, Unset]):
            pending (Union['PendingTopUp', None, Unset]):
     """

    status: str
    paused: Union['TopUpPause', None, Unset] = UNSET
    pending: Union['PendingTopUp', None, Unset] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.top_up_pause import TopUpPause
        from ..models.pending_top_up import PendingTopUp
        status = self.status

        paused: Union[None, Unset, dict[str, Any]]
        if isinstance(self.paused, Unset):
            paused = UNSET
        elif isinstance(self.paused, TopUpPause):
            paused = self.paused.to_dict()
        else:
            paused = self.paused

        pending: Union[None, Unset, dict[str, Any]]
        if isinstance(self.pending, Unset):
            pending = UNSET
        elif isinstance(self.pending, PendingTopUp):
            pending = self.pending.to_dict()
        else:
            pending = self.pending


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "status": status,
        })
        if paused is not UNSET:
            field_dict["paused"] = paused
        if pending is not UNSET:
            field_dict["pending"] = pending

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.top_up_pause import TopUpPause
        from ..models.pending_top_up import PendingTopUp
        d = dict(src_dict)
        status = d.pop("status")

        def _parse_paused(data: object) -> Union['TopUpPause', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                paused_type_1 = TopUpPause.from_dict(data)



                return paused_type_1
            except: # noqa: E722
                pass
            return cast(Union['TopUpPause', None, Unset], data)

        paused = _parse_paused(d.pop("paused", UNSET))


        def _parse_pending(data: object) -> Union['PendingTopUp', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                pending_type_1 = PendingTopUp.from_dict(data)



                return pending_type_1
            except: # noqa: E722
                pass
            return cast(Union['PendingTopUp', None, Unset], data)

        pending = _parse_pending(d.pop("pending", UNSET))


        auto_top_up_status = cls(
            status=status,
            paused=paused,
            pending=pending,
        )


        auto_top_up_status.additional_properties = d
        return auto_top_up_status

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
