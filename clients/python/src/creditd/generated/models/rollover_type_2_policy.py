from enum import Enum

class RolloverType2Policy(str, Enum):
    UP_TO = "up_to"

    def __str__(self) -> str:
        return str(self.value)
