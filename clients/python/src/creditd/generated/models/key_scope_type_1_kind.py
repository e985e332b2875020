from enum import Enum

class KeyScopeType1Kind(str, Enum):
    MEMBER = "member"

    def __str__(self) -> str:
        return str(self.value)
