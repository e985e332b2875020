from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="SetCapRequest")



@_attrs_define
class SetCapRequest:
    """ `PUT …/caps`: name exactly one of `member` (an email) or `key_id`.

        Attributes:
            key_id (Union[None, Unset, str]): A key's id.
            limit (Union[None, Unset, float, str]):
            member (Union[None, Unset, str]): A member's email.
            project_id (Union[None, Unset, str]): A project, as holds and usage name it in `project_id`: a budget for
                everything done for the project, whoever does it.
     """

    key_id: Union[None, Unset, str] = UNSET
    limit: Union[None, Unset, float, str] = UNSET
    member: Union[None, Unset, str] = UNSET
    project_id: Union[None, Unset, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        key_id: Union[None, Unset, str]
        if isinstance(self.key_id, Unset):
            key_id = UNSET
        else:
            key_id = self.key_id

        limit: Union[None, Unset, float, str]
        if isinstance(self.limit, Unset):
            limit = UNSET
        else:
            limit = self.limit

        member: Union[None, Unset, str]
        if isinstance(self.member, Unset):
            member = UNSET
        else:
            member = self.member

        project_id: Union[None, Unset, str]
        if isinstance(self.project_id, Unset):
            project_id = UNSET
        else:
            project_id = self.project_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if key_id is not UNSET:
            field_dict["key_id"] = key_id
        if limit is not UNSET:
            field_dict["limit"] = limit
        if member is not UNSET:
            field_dict["member"] = member
        if project_id is not UNSET:
            field_dict["project_id"] = project_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_key_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        key_id = _parse_key_id(d.pop("key_id", UNSET))


        def _parse_limit(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        limit = _parse_limit(d.pop("limit", UNSET))


        def _parse_member(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        member = _parse_member(d.pop("member", UNSET))


        def _parse_project_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        project_id = _parse_project_id(d.pop("project_id", UNSET))


        set_cap_request = cls(
            key_id=key_id,
            limit=limit,
            member=member,
            project_id=project_id,
        )

        return set_cap_request

