from enum import Enum

class HistoryFields(str, Enum):
    ALL = "all"
    EVENTS = "events"

    def __str__(self) -> str:
        return str(self.value)
