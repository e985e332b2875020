from enum import Enum

class Funding(str, Enum):
    OWN = "own"
    PARENT = "parent"

    def __str__(self) -> str:
        return str(self.value)
