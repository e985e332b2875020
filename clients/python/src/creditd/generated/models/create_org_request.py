from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.pool import Pool
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="CreateOrgRequest")



@_attrs_define
class CreateOrgRequest:
    """ `POST /api/organizations`

        Attributes:
            name (str): For people.
            consumption_order (Union[None, Unset, list[Pool]]): Each pool exactly once; default plan, voucher, promotional,
                prepaid.
            expiring_first (Union[None, Unset, bool]): Default true.
            id (Union[None, Unset, str]): Default: a generated `org_…` id.
            overdraft_limit (Union[None, Unset, float, str]):
            renewal_day (Union[None, Unset, int]): Default 1.
            time_zone (Union[None, Unset, str]): An IANA zone name; default UTC.
     """

    name: str
    consumption_order: Union[None, Unset, list[Pool]] = UNSET
    expiring_first: Union[None, Unset, bool] = UNSET
    id: Union[None, Unset, str] = UNSET
    overdraft_limit: Union[None, Unset, float, str] = UNSET
    renewal_day: Union[None, Unset, int] = UNSET
    time_zone: Union[None, Unset, str] = UNSET





    def to_dict(self) -> dict[str, Any]:
        name = self.name

        consumption_order: Union[None, Unset, list[str]]
        if isinstance(self.consumption_order, Unset):
            consumption_order = UNSET
        elif isinstance(self.consumption_order, list):
            consumption_order = []
            for consumption_order_type_0_item_data in self.consumption_order:
                consumption_order_type_0_item = consumption_order_type_0_item_data.value
                consumption_order.append(consumption_order_type_0_item)


        else:
            consumption_order = self.consumption_order

        expiring_first: Union[None, Unset, bool]
        if isinstance(self.expiring_first, Unset):
            expiring_first = UNSET
        else:
            expiring_first = self.expiring_first

        id: Union[None, Unset, str]
        if isinstance(self.id, Unset):
            id = UNSET
        else:
            id = self.id

        overdraft_limit: Union[None, Unset, float, str]
        if isinstance(self.overdraft_limit, Unset):
            overdraft_limit = UNSET
        else:
            overdraft_limit = self.overdraft_limit

        renewal_day: Union[None, Unset, int]
        if isinstance(self.renewal_day, Unset):
            renewal_day = UNSET
        else:
            renewal_day = self.renewal_day

        time_zone: Union[None, Unset, str]
        if isinstance(self.time_zone, Unset):
            time_zone = UNSET
        else:
            time_zone = self.time_zone


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "name": name,
        })
        if consumption_order is not UNSET:
            field_dict["consumption_order"] = consumption_order
        if expiring_first is not UNSET:
            field_dict["expiring_first"] = expiring_first
        if id is not UNSET:
            field_dict["id"] = id
        if overdraft_limit is not UNSET:
            field_dict["overdraft_limit"] = overdraft_limit
        if renewal_day is not UNSET:
            field_dict["renewal_day"] = renewal_day
        if time_zone is not UNSET:
            field_dict["time_zone"] = time_zone

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        def _parse_consumption_order(data: object) -> Union[None, Unset, list[Pool]]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                consumption_order_type_0 = []
                _consumption_order_type_0 = data
                for consumption_order_type_0_item_data in (_consumption_order_type_0):
                    consumption_order_type_0_item = Pool(consumption_order_type_0_item_data)



                    consumption_order_type_0.append(consumption_order_type_0_item)

                return consumption_order_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, list[Pool]], data)

        consumption_order = _parse_consumption_order(d.pop("consumption_order", UNSET))


        def _parse_expiring_first(data: object) -> Union[None, Unset, bool]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, bool], data)

        expiring_first = _parse_expiring_first(d.pop("expiring_first", UNSET))


        def _parse_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        id = _parse_id(d.pop("id", UNSET))


        def _parse_overdraft_limit(data: object) -> Union[None, Unset, float, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float, str], data)

        overdraft_limit = _parse_overdraft_limit(d.pop("overdraft_limit", UNSET))


        def _parse_renewal_day(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        renewal_day = _parse_renewal_day(d.pop("renewal_day", UNSET))


        def _parse_time_zone(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        time_zone = _parse_time_zone(d.pop("time_zone", UNSET))


        create_org_request = cls(
            name=name,
            consumption_order=consumption_order,
            expiring_first=expiring_first,
            id=id,
            overdraft_limit=overdraft_limit,
            renewal_day=renewal_day,
            time_zone=time_zone,
        )

        return create_org_request

