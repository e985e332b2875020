from enum import Enum

class ReversalPolicy(str, Enum):
    DEBT = "debt"
    WRITE_OFF = "write_off"

    def __str__(self) -> str:
        return str(self.value)
