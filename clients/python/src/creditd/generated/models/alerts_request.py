from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from typing import cast, Union

if TYPE_CHECKING:
  from ..models.alert_level_type_1 import AlertLevelType1
  from ..models.alert_level_type_0 import AlertLevelType0





T = TypeVar("T", bound="AlertsRequest")



@_attrs_define
class AlertsRequest:
    """ `PUT …/alerts`: the usage alert levels (replacing the previous list;
    `[]` removes them all).

        Attributes:
            levels (list[Union['AlertLevelType0', 'AlertLevelType1']]): At most 20 levels, none twice.
     """

    levels: list[Union['AlertLevelType0', 'AlertLevelType1']]





    def to_dict(self) -> dict[str, Any]:
        from ..models.alert_level_type_1 import AlertLevelType1
        from ..models.alert_level_type_0 import AlertLevelType0
        levels = []
        for levels_item_data in self.levels:
            levels_item: dict[str, Any]
            if isinstance(levels_item_data, AlertLevelType0):
                levels_item = levels_item_data.to_dict()
            else:
                levels_item = levels_item_data.to_dict()

            levels.append(levels_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "levels": levels,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.alert_level_type_1 import AlertLevelType1
        from ..models.alert_level_type_0 import AlertLevelType0
        d = dict(src_dict)
        levels = []
        _levels = d.pop("levels")
        for levels_item_data in (_levels):
            def _parse_levels_item(data: object) -> Union['AlertLevelType0', 'AlertLevelType1']:
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

            levels_item = _parse_levels_item(levels_item_data)

            levels.append(levels_item)


        alerts_request = cls(
            levels=levels,
        )

        return alerts_request

