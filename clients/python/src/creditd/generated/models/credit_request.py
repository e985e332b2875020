from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.credit_kind import CreditKind
from ..models.pool import Pool
from ..models.status import Status
from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="CreditRequest")



@_attrs_define
class CreditRequest:
    """ `POST /api/organizations/{orgId}/credits`

        Attributes:
            amount (Union[float, str]): Credits as a JSON number or a decimal string, exact to 0.000001
            kind (CreditKind): Which kind of credit an [`Op::Credit`] adds: it decides the event kind
                and the default pool.
            activity (Union[None, Unset, str]): What was done.
            code (Union[None, Unset, str]): Vouchers: the code redeemed.
            description (Union[None, Unset, str]): For people.
            expires_at (Union[None, Unset, str]):
            metadata (Union[Unset, Any]): Any JSON value, within bounds checked before anything is
                written (422 `validation_error` past them): at most 16 KiB as
                compact JSON, 32 levels of nested objects and arrays, 256 object
                keys over all levels. NUL is allowed inside its strings (it is
                stored escaped); the text fields above refuse it.
            pool (Union[None, Pool, Unset]):
            project_id (Union[None, Unset, str]): The project it was for.
            project_name (Union[None, Unset, str]): The project's name.
            service (Union[None, Unset, str]): The service used.
            source (Union[None, Unset, str]): Where the operation came from (a system, a job).
            status (Union[None, Status, Unset]):
            user_email (Union[None, Unset, str]): Must contain `@`.
            user_name (Union[None, Unset, str]): Who did it.
     """

    amount: Union[float, str]
    kind: CreditKind
    activity: Union[None, Unset, str] = UNSET
    code: Union[None, Unset, str] = UNSET
    description: Union[None, Unset, str] = UNSET
    expires_at: Union[None, Unset, str] = UNSET
    metadata: Union[Unset, Any] = UNSET
    pool: Union[None, Pool, Unset] = UNSET
    project_id: Union[None, Unset, str] = UNSET
    project_name: Union[None, Unset, str] = UNSET
    service: Union[None, Unset, str] = UNSET
    source: Union[None, Unset, str] = UNSET
    status: Union[None, Status, Unset] = UNSET
    user_email: Union[None, Unset, str] = UNSET
    user_name: Union[None, Unset, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        amount: Union[float, str]
        amount = self.amount

        kind = self.kind.value

        activity: Union[None, Unset, str]
        if isinstance(self.activity, Unset):
            activity = UNSET
        else:
            activity = self.activity

        code: Union[None, Unset, str]
        if isinstance(self.code, Unset):
            code = UNSET
        else:
            code = self.code

        description: Union[None, Unset, str]
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        expires_at: Union[None, Unset, str]
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = self.expires_at

        metadata = self.metadata

        pool: Union[None, Unset, str]
        if isinstance(self.pool, Unset):
            pool = UNSET
        elif isinstance(self.pool, Pool):
            pool = self.pool.value
        else:
            pool = self.pool

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

        status: Union[None, Unset, str]
        if isinstance(self.status, Unset):
            status = UNSET
        elif isinstance(self.status, Status):
            status = self.status.value
        else:
            status = self.status

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
            "amount": amount,
            "kind": kind,
        })
        if activity is not UNSET:
            field_dict["activity"] = activity
        if code is not UNSET:
            field_dict["code"] = code
        if description is not UNSET:
            field_dict["description"] = description
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if pool is not UNSET:
            field_dict["pool"] = pool
        if project_id is not UNSET:
            field_dict["project_id"] = project_id
        if project_name is not UNSET:
            field_dict["project_name"] = project_name
        if service is not UNSET:
            field_dict["service"] = service
        if source is not UNSET:
            field_dict["source"] = source
        if status is not UNSET:
            field_dict["status"] = status
        if user_email is not UNSET:
            field_dict["user_email"] = user_email
        if user_name is not UNSET:
            field_dict["user_name"] = user_name

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_amount(data: object) -> Union[float, str]:
            return cast(Union[float, str], data)

        amount = _parse_amount(d.pop("amount"))


        kind = CreditKind(d.pop("kind"))




        def _parse_activity(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        activity = _parse_activity(d.pop("activity", UNSET))


        def _parse_code(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        code = _parse_code(d.pop("code", UNSET))


        def _parse_description(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        description = _parse_description(d.pop("description", UNSET))


        def _parse_expires_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))


        metadata = d.pop("metadata", UNSET)

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


        def _parse_status(data: object) -> Union[None, Status, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                status_type_1 = Status(data)



                return status_type_1
            except: # noqa: E722
                pass
            return cast(Union[None, Status, Unset], data)

        status = _parse_status(d.pop("status", UNSET))


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


        credit_request = cls(
            amount=amount,
            kind=kind,
            activity=activity,
            code=code,
            description=description,
            expires_at=expires_at,
            metadata=metadata,
            pool=pool,
            project_id=project_id,
            project_name=project_name,
            service=service,
            source=source,
            status=status,
            user_email=user_email,
            user_name=user_name,
        )

        return credit_request

