from enum import Enum

class KeyScopeType0Kind(str, Enum):
    SERVICE = "service"

    def __str__(self) -> str:
        return str(self.value)
