from enum import Enum

class KeyViewMemberKind(str, Enum):
    MEMBER = "member"

    def __str__(self) -> str:
        return str(self.value)
