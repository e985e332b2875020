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
  from ..models.broken_link import BrokenLink





T = TypeVar("T", bound="VerifyReport")



@_attrs_define
class VerifyReport:
    """ The end of a verification.

        Attributes:
            events (int): Events read.
            ok (bool): No problem found.
            org_id (str): The organisation verified.
            problems (list[str]): What is wrong, in words; at most the first 20.
            broken_link (Union['BrokenLink', None, Unset]):
            chain_checked (Union[Unset, bool]): Whether the hash chain was checked (engines do; a bare replay does not).
     """

    events: int
    ok: bool
    org_id: str
    problems: list[str]
    broken_link: Union['BrokenLink', None, Unset] = UNSET
    chain_checked: Union[Unset, bool] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.broken_link import BrokenLink
        events = self.events

        ok = self.ok

        org_id = self.org_id

        problems = self.problems



        broken_link: Union[None, Unset, dict[str, Any]]
        if isinstance(self.broken_link, Unset):
            broken_link = UNSET
        elif isinstance(self.broken_link, BrokenLink):
            broken_link = self.broken_link.to_dict()
        else:
            broken_link = self.broken_link

        chain_checked = self.chain_checked


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "events": events,
            "ok": ok,
            "org_id": org_id,
            "problems": problems,
        })
        if broken_link is not UNSET:
            field_dict["broken_link"] = broken_link
        if chain_checked is not UNSET:
            field_dict["chain_checked"] = chain_checked

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.broken_link import BrokenLink
        d = dict(src_dict)
        events = d.pop("events")

        ok = d.pop("ok")

        org_id = d.pop("org_id")

        problems = cast(list[str], d.pop("problems"))


        def _parse_broken_link(data: object) -> Union['BrokenLink', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                broken_link_type_1 = BrokenLink.from_dict(data)



                return broken_link_type_1
            except: # noqa: E722
                pass
            return cast(Union['BrokenLink', None, Unset], data)

        broken_link = _parse_broken_link(d.pop("broken_link", UNSET))


        chain_checked = d.pop("chain_checked", UNSET)

        verify_report = cls(
            events=events,
            ok=ok,
            org_id=org_id,
            problems=problems,
            broken_link=broken_link,
            chain_checked=chain_checked,
        )


        verify_report.additional_properties = d
        return verify_report

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
