from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="ReverseRequest")



@_attrs_define
class ReverseRequest:
    """ `POST …/purchases/{id}/reverse`: why the purchase is taken back.

        Attributes:
            reason (str): Why (a refund, a chargeback and its case number, …), 1 to 1,024
                characters; kept in the event's metadata.
            activity (Union[None, Unset, str]): What was done.
            description (Union[None, Unset, str]): For people.
            metadata (Union[Unset, Any]): Any JSON value, within bounds checked before anything is
                written (422 `validation_error` past them): at most 16 KiB as
                compact JSON, 32 levels of nested objects and arrays, 256 object
                keys over all levels. NUL is allowed inside its strings (it is
                stored escaped); the text fields above refuse it.
            project_id (Union[None, Unset, str]): The project it was for.
            project_name (Union[None, Unset, str]): The project's name.
            service (Union[None, Unset, str]): The service used.
            source (Union[None, Unset, str]): Where the operation came from (a system, a job).
            user_email (Union[None, Unset, str]): Must contain `@`.
            user_name (Union[None, Unset, str]): Who did it.
     """

    reason: str
    activity: Union[None, Unset, str] = UNSET
    description: Union[None, Unset, str] = UNSET
    metadata: Union[Unset, Any] = UNSET
    project_id: Union[None, Unset, str] = UNSET
    project_name: Union[None, Unset, str] = UNSET
    service: Union[None, Unset, str] = UNSET
    source: Union[None, Unset, str] = UNSET
    user_email: Union[None, Unset, str] = UNSET
    user_name: Union[None, Unset, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        reason = self.reason

        activity: Union[None, Unset, str]
        if isinstance(self.activity, Unset):
            activity = UNSET
        else:
            activity = self.activity

        description: Union[None, Unset, str]
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        metadata = self.metadata

        project_id: Union[None, Unset, str]
        if isinstance(self.project_id, Unset):
            project_id = UNSET
        else:
            project_id = self.project_id

        project_name: Union[None, Unset, str]
        if isinstance(self.project_name, Unset):
            project_name = UNSET
        else:
            project_name = self.project_name

        service: Union[None, Unset, str]
        if isinstance(self.service, Unset):
            service = UNSET
        else:
            service = self.service

        source: Union[None, Unset, str]
        if isinstance(self.source, Unset):
            source = UNSET
        else:
            source = self.source

        user_email: Union[None, Unset, str]
        if isinstance(self.user_email, Unset):
            user_email = UNSET
        else:
            user_email = self.user_email

        user_name: Union[None, Unset, str]
        if isinstance(self.user_name, Unset):
            user_name = UNSET
        else:
            user_name = self.user_name


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "reason": reason,
        })
        if activity is not UNSET:
            field_dict["activity"] = activity
        if description is not UNSET:
            field_dict["description"] = description
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if project_id is not UNSET:
            field_dict["project_id"] = project_id
        if project_name is not UNSET:
            field_dict["project_name"] = project_name
        if service is not UNSET:
            field_dict["service"] = service
        if source is not UNSET:
            field_dict["source"] = source
        if user_email is not UNSET:
            field_dict["user_email"] = user_email
        if user_name is not UNSET:
            field_dict["user_name"] = user_name

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        reason = d.pop("reason")

        def _parse_activity(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        activity = _parse_activity(d.pop("activity", UNSET))


        def _parse_description(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        description = _parse_description(d.pop("description", UNSET))


        metadata = d.pop("metadata", UNSET)

        def _parse_project_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        project_id = _parse_project_id(d.pop("project_id", UNSET))


        def _parse_project_name(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        project_name = _parse_project_name(d.pop("project_name", UNSET))


        def _parse_service(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        service = _parse_service(d.pop("service", UNSET))


        def _parse_source(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        source = _parse_source(d.pop("source", UNSET))


        def _parse_user_email(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        user_email = _parse_user_email(d.pop("user_email", UNSET))


        def _parse_user_name(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        user_name = _parse_user_name(d.pop("user_name", UNSET))


        reverse_request = cls(
            reason=reason,
            activity=activity,
            description=description,
            metadata=metadata,
            project_id=project_id,
            project_name=project_name,
            service=service,
            source=source,
            user_email=user_email,
            user_name=user_name,
        )

        return reverse_request

