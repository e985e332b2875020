from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.endpoint_view import EndpointView





T = TypeVar("T", bound="EndpointDeleted")



@_attrs_define
class EndpointDeleted:
    """ `DELETE …/webhooks/{id}`: the endpoint as it was, now gone with its
    deliveries.

        Attributes:
            deleted (bool): Always true.
            endpoint (EndpointView): An endpoint as shown after its creation: never the secret, only its
                first characters.
     """

    deleted: bool
    endpoint: 'EndpointView'
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.endpoint_view import EndpointView
        deleted = self.deleted

        endpoint = self.endpoint.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "deleted": deleted,
            "endpoint": endpoint,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.endpoint_view import EndpointView
        d = dict(src_dict)
        deleted = d.pop("deleted")

        endpoint = EndpointView.from_dict(d.pop("endpoint"))




        endpoint_deleted = cls(
            deleted=deleted,
            endpoint=endpoint,
        )


        endpoint_deleted.additional_properties = d
        return endpoint_deleted

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
