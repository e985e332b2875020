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
  from ..models.alert_level_type_1 import AlertLevelType1
  from ..models.alert_level_type_0 import AlertLevelType0





T = TypeVar("T", bound="AlertLevelView")



@_attrs_define
class AlertLevelView:
    """ One level of `GET …/alerts` and where it stands.

        Attributes:
            fired (bool): Whether it has fired and not recovered since (this period, for a
                usage alert).
            level (Union['AlertLevelType0', 'AlertLevelType1']):
            webhook (str): The webhook it sends: `usage_alert`, or `low_balance` for the
                low-balance threshold.
            fired_at (Union[None, Unset, str]):
     """

    fired: bool
    level: Union['AlertLevelType0', 'AlertLevelType1']
    webhook: str
    fired_at: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.alert_level_type_1 import AlertLevelType1
        from ..models.alert_level_type_0 import AlertLevelType0
        fired = self.fired

        level: dict[str, Any]
        if isinstance(self.level, AlertLevelType0):
            level = self.level.to_dict()
        else:
            level = self.level.to_dict()


        webhook = self.webhook

        fired_at: Union[None, Unset, str]
        if isinstance(self.fired_at, Unset):
            fired_at = UNSET
        else:
            fired_at = self.fired_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "fired": fired,
            "level": level,
            "webhook": webhook,
        })
        if fired_at is not UNSET:
            field_dict["fired_at"] = fired_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.alert_level_type_1 import AlertLevelType1
        from ..models.alert_level_type_0 import AlertLevelType0
        d = dict(src_dict)
        fired = d.pop("fired")

        def _parse_level(data: object) -> Union['AlertLevelType0', 'AlertLevelType1']:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_alert_level_type_0 = AlertLevelType0.from_dict(data)



                return componentsschemas_alert_level_type_0
            except: # noqa: E722
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_alert_level_type_1 = AlertLevelType1.from_dict(data)



            return componentsschemas_alert_level_type_1

        level = _parse_level(d.pop("level"))


        webhook = d.pop("webhook")

        def _parse_fired_at(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        fired_at = _parse_fired_at(d.pop("fired_at", UNSET))


        alert_level_view = cls(
            fired=fired,
            level=level,
            webhook=webhook,
            fired_at=fired_at,
        )


        alert_level_view.additional_properties = d
        return alert_level_view

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
