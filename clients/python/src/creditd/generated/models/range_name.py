from enum import Enum

class RangeName(str, Enum):
    CUSTOM = "custom"
    LAST_28_DAYS = "last_28_days"
    LAST_MONTH = "last_month"
    LAST_WEEK = "last_week"
    THIS_MONTH = "this_month"
    THIS_WEEK = "this_week"
    TODAY = "today"
    YESTERDAY = "yesterday"

    def __str__(self) -> str:
        return str(self.value)
