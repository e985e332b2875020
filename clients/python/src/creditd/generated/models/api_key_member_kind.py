from enum import Enum

class ApiKeyMemberKind(str, Enum):
    MEMBER = "member"

    def __str__(self) -> str:
        return str(self.value)
