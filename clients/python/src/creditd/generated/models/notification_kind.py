from enum import Enum

class NotificationKind(str, Enum):
    LOW_BALANCE = "low_balance"
    TOP_UP_PAUSED = "top_up_paused"
    TOP_UP_REQUESTED = "top_up_requested"
    USAGE_ALERT = "usage_alert"

    def __str__(self) -> str:
        return str(self.value)
