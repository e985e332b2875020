from enum import Enum

class KeyKind(str, Enum):
    MEMBER = "member"
    SERVICE = "service"

    def __str__(self) -> str:
        return str(self.value)
