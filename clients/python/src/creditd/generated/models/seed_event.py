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
  from ..models.seed_event_metadata_type_0 import SeedEventMetadataType0





T = TypeVar("T", bound="SeedEvent")



@_attrs_define
class SeedEvent:
    """ One credit event as seed 001 names its fields; the same cells as the
    `events` export layout (`creditd_export`'s rules: a debit is `usage` with
    credits 0 and says in `metadata` what it captured).

        Attributes:
            created_at (str):
            credits_ (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            event_type (str): `usage`, `prepaid_purchase`, `subscription_credit`, `billing`,
                `adjustment`, `grant`, `refund`, `reservation`,
                `reservation_released`; creditd's `voucher` and `expiry`.
            period_usage_after (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            prepaid_balance_after (float): Credits, exact to 0.000001 (micro-credits), written as a JSON number
            activity_name (Union[None, Unset, str]): The activity that consumed credits.
            metadata (Union['SeedEventMetadataType0', None, Unset]): Event-specific detail (JSON).
            project_id (Union[None, Unset, str]): The project that consumed credits.
            source (Union[None, Unset, str]): The system that triggered the event.
     """

    created_at: str
    credits_: float
    event_type: str
    period_usage_after: float
    prepaid_balance_after: float
    activity_name: Union[None, Unset, str] = UNSET
    metadata: Union['SeedEventMetadataType0', None, Unset] = UNSET
    project_id: Union[None, Unset, str] = UNSET
    source: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.seed_event_metadata_type_0 import SeedEventMetadataType0
        created_at = self.created_at

        credits_ = self.credits_

        event_type = self.event_type

        period_usage_after = self.period_usage_after

        prepaid_balance_after = self.prepaid_balance_after

        activity_name: Union[None, Unset, str]
        if isinstance(self.activity_name, Unset):
            activity_name = UNSET
        else:
            activity_name = self.activity_name

        metadata: Union[None, Unset, dict[str, Any]]
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, SeedEventMetadataType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        project_id: Union[None, Unset, str]
        if isinstance(self.project_id, Unset):
            project_id = UNSET
        else:
            project_id = self.project_id

        source: Union[None, Unset, str]
        if isinstance(self.source, Unset):
            source = UNSET
        else:
            source = self.source


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "credits": credits_,
            "event_type": event_type,
            "period_usage_after": period_usage_after,
            "prepaid_balance_after": prepaid_balance_after,
        })
        if activity_name is not UNSET:
            field_dict["activity_name"] = activity_name
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if project_id is not UNSET:
            field_dict["project_id"] = project_id
        if source is not UNSET:
            field_dict["source"] = source

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.seed_event_metadata_type_0 import SeedEventMetadataType0
        d = dict(src_dict)
        created_at = d.pop("created_at")

        credits_ = d.pop("credits")

        event_type = d.pop("event_type")

        period_usage_after = d.pop("period_usage_after")

        prepaid_balance_after = d.pop("prepaid_balance_after")

        def _parse_activity_name(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        activity_name = _parse_activity_name(d.pop("activity_name", UNSET))


        def _parse_metadata(data: object) -> Union['SeedEventMetadataType0', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = SeedEventMetadataType0.from_dict(data)



                return metadata_type_0
            except: # noqa: E722
                pass
            return cast(Union['SeedEventMetadataType0', None, Unset], data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))


        def _parse_project_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        project_id = _parse_project_id(d.pop("project_id", UNSET))


        def _parse_source(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        source = _parse_source(d.pop("source", UNSET))


        seed_event = cls(
            created_at=created_at,
            credits_=credits_,
            event_type=event_type,
            period_usage_after=period_usage_after,
            prepaid_balance_after=prepaid_balance_after,
            activity_name=activity_name,
            metadata=metadata,
            project_id=project_id,
            source=source,
        )


        seed_event.additional_properties = d
        return seed_event

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
