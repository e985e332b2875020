from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="ExtendRequest")



@_attrs_define
class ExtendRequest:
    """ `POST …/holds/{holdId}/extend`: more credits (`amount`, a plain
    hold) or more units (`quantity`, a priced hold), and/or a later
    timeout; at least one.

        Attributes:
            activity (Union[None, Unset, str]): What was done.
            amount (Union[None, Unset, float, str]):
            description (Union[None, Unset, str]): For people.
            metadata (Union[Unset, Any]): Any JSON value, within bounds checked before anything is
                written (422 `validation_error` past them): at most 16 KiB as
                compact JSON, 32 levels of nested objects and arrays, 256 object
                keys over all levels. NUL is allowed inside its strings (it is
                stored escaped); the text fields above refuse it.
            project_id (Union[None, Unset, str]): The project it was for.
            project_name (Union[None, Unset, str]): The project's name.
            quantity (Union[None, Unset, float, str]):
            service (Union[None, Unset, str]): The service used.
            source (Union[None, Unset, str]): Where the operation came from (a system, a job).
            timeout_seconds (Union[None, Unset, int]): The new timeout, in seconds from now (at most 7 days); it must
                end after the hold's current one.
            user_email (Union[None, Unset, str]): Must contain `@`.
            user_name (Union[None, Unset, str]): Who did it.
     """

    activity: Union[None, Unset, str] = UNSET
    amount: Union[None, Unset, float, str] = UNSET
    description: Union[None, Unset, str] = UNSET
    metadata: Union[Unset, Any] = UNSET
    project_id: Union[None, Unset, str] = UNSET
    project_name: Union[None, Unset, str] = UNSET
    quantity: Union[None, Unset, float, str] = UNSET
    service: Union[None, Unset, str] = UNSET
    source: Union[None, Unset, str] = UNSET
    timeout_seconds: Union[None, Unset, int] = UNSET
    user_email: Union[None, Unset, str] = UNSET
    user_name: Union[None, Unset, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        activity: Union[None, Unset, str]
        if isinstance(self.activity, Unset):
            activity = UNSET
        else:
            activity = self.activity

        amount: Union[None, Unset, float, str]
        if isinstance(self.amount, Unset):
            amount = UNSET
        else:
            amount = self.amount

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

        quantity: Union[None, Unset, float, str]
        if isinstance(self.quantity, Unset):
            quantity = UNSET
        else:
            quantity = self.quantity

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

        timeout_seconds: Union[None, Unset, int]
        if isinstance(self.timeout_seconds, Unset):
            timeout_seconds = UNSET
        else:
            timeout_seconds = self.timeout_seconds

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
        })
        if activity is not UNSET:
            field_dict["activity"] = activity
        if amount is not UNSET:
            field_dict["amount"] = amount
        if description is not UNSET:
            field_dict["description"] = description
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if project_id is not UNSET:
            field_dict["project_id"] = project_id
        if project_name is not UNSET:
            field_dict["project_name"] = project_name
        if quantity is not UNSET:
            field_dict["quantity"] = quantity
        if service is not UNSET:
            field_dict["service"] = service
        if source is not UNSET:
            field_dict["source"] = source
        if timeout_seconds is not UNSET:
            field_dict["timeout_seconds"] = timeout_seconds
        if user_email is not UNSET:
            field_dict["user_email"] = user_email
        if user_name is not UNSET:
            field_dict["user_name"] = user_name

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_activity(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        activity = _parse_activity(d.pop("activity", UNSET))


        def _parse_amount(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        amount = _parse_amount(d.pop("amount", UNSET))


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


        def _parse_quantity(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        quantity = _parse_quantity(d.pop("quantity", UNSET))


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


        def _parse_timeout_seconds(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        timeout_seconds = _parse_timeout_seconds(d.pop("timeout_seconds", UNSET))


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


        extend_request = cls(
            activity=activity,
            amount=amount,
            description=description,
            metadata=metadata,
            project_id=project_id,
            project_name=project_name,
            quantity=quantity,
            service=service,
            source=source,
            timeout_seconds=timeout_seconds,
            user_email=user_email,
            user_name=user_name,
        )

        return extend_request

