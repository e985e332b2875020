from enum import Enum

class RolloverType1Policy(str, Enum):
    ALL = "all"

    def __str__(self) -> str:
        return str(self.value)
