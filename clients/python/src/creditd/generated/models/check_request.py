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
  from ..models.check_request_dimensions_type_0 import CheckRequestDimensionsType0





T = TypeVar("T", bound="CheckRequest")



@_attrs_define
class CheckRequest:
    """ `POST …/check`: a hold or usage to check (an `amount`, or `price` and
    `quantity`), and whose it would be. Nothing is written.

        Attributes:
            activity (Union[None, Unset, str]): What was done.
            amount (Union[None, Unset, float, str]):
            description (Union[None, Unset, str]): For people.
            dimensions (Union['CheckRequestDimensionsType0', None, Unset]): With `price`: selects the price's line (e.g.
                `{"model": "large"}`).
            key_id (Union[None, Unset, str]): Check as this stored API key would act (its cap applies). Not
                for members.
            metadata (Union[Unset, Any]): Any JSON value, within bounds checked before anything is
                written (422 `validation_error` past them): at most 16 KiB as
                compact JSON, 32 levels of nested objects and arrays, 256 object
                keys over all levels. NUL is allowed inside its strings (it is
                stored escaped); the text fields above refuse it.
            price (Union[None, Unset, str]): A price of the organisation's book (instead of `amount`).
            project_id (Union[None, Unset, str]): The project it was for.
            project_name (Union[None, Unset, str]): The project's name.
            quantity (Union[None, Unset, float, str]):
            service (Union[None, Unset, str]): The service used.
            source (Union[None, Unset, str]): Where the operation came from (a system, a job).
            user_email (Union[None, Unset, str]): Must contain `@`.
            user_name (Union[None, Unset, str]): Who did it.
     """

    activity: Union[None, Unset, str] = UNSET
    amount: Union[None, Unset, float, str] = UNSET
    description: Union[None, Unset, str] = UNSET
    dimensions: Union['CheckRequestDimensionsType0', None, Unset] = UNSET
    key_id: Union[None, Unset, str] = UNSET
    metadata: Union[Unset, Any] = UNSET
    price: Union[None, Unset, str] = UNSET
    project_id: Union[None, Unset, str] = UNSET
    project_name: Union[None, Unset, str] = UNSET
    quantity: Union[None, Unset, float, str] = UNSET
    service: Union[None, Unset, str] = UNSET
    source: Union[None, Unset, str] = UNSET
    user_email: Union[None, Unset, str] = UNSET
    user_name: Union[None, Unset, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.check_request_dimensions_type_0 import CheckRequestDimensionsType0
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

        dimensions: Union[None, Unset, dict[str, Any]]
        if isinstance(self.dimensions, Unset):
            dimensions = UNSET
        elif isinstance(self.dimensions, CheckRequestDimensionsType0):
            dimensions = self.dimensions.to_dict()
        else:
            dimensions = self.dimensions

        key_id: Union[None, Unset, str]
        if isinstance(self.key_id, Unset):
            key_id = UNSET
        else:
            key_id = self.key_id

        metadata = self.metadata

        price: Union[None, Unset, str]
        if isinstance(self.price, Unset):
            price = UNSET
        else:
            price = self.price

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
        if dimensions is not UNSET:
            field_dict["dimensions"] = dimensions
        if key_id is not UNSET:
            field_dict["key_id"] = key_id
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if price is not UNSET:
            field_dict["price"] = price
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
        if user_email is not UNSET:
            field_dict["user_email"] = user_email
        if user_name is not UNSET:
            field_dict["user_name"] = user_name

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.check_request_dimensions_type_0 import CheckRequestDimensionsType0
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


        def _parse_dimensions(data: object) -> Union['CheckRequestDimensionsType0', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                dimensions_type_0 = CheckRequestDimensionsType0.from_dict(data)



                return dimensions_type_0
            except: # noqa: E722
                pass
            return cast(Union['CheckRequestDimensionsType0', None, Unset], data)

        dimensions = _parse_dimensions(d.pop("dimensions", UNSET))


        def _parse_key_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        key_id = _parse_key_id(d.pop("key_id", UNSET))


        metadata = d.pop("metadata", UNSET)

        def _parse_price(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        price = _parse_price(d.pop("price", UNSET))


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


        check_request = cls(
            activity=activity,
            amount=amount,
            description=description,
            dimensions=dimensions,
            key_id=key_id,
            metadata=metadata,
            price=price,
            project_id=project_id,
            project_name=project_name,
            quantity=quantity,
            service=service,
            source=source,
            user_email=user_email,
            user_name=user_name,
        )

        return check_request

