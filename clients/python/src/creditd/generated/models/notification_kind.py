from enum import Enum

class NotificationKind(str, Enum):
    LOW_BALANCE = "low_balance"

    def __str__(self) -> str:
        return str(self.value)
