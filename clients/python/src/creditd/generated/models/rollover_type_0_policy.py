from enum import Enum

class RolloverType0Policy(str, Enum):
    NONE = "none"

    def __str__(self) -> str:
        return str(self.value)
