from enum import Enum

class ConversationGroup(str, Enum):
    CAMPAIGN = "campaign"
    DAY = "day"
    IDENTITY = "identity"

    def __str__(self) -> str:
        return str(self.value)
