from enum import Enum

class Effective(str, Enum):
    NEXT_PERIOD = "next_period"
    NOW = "now"

    def __str__(self) -> str:
        return str(self.value)
