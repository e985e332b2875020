from enum import Enum

class RecordKind(str, Enum):
    HOLD = "hold"
    PURCHASE = "purchase"
    USAGE = "usage"

    def __str__(self) -> str:
        return str(self.value)
