from enum import Enum

class RolloverType3Policy(str, Enum):
    PERIODS = "periods"

    def __str__(self) -> str:
        return str(self.value)
