from enum import Enum

class ExportLayout(str, Enum):
    EVENTS = "events"
    FPT = "fpt"
    FULL = "full"
    REPORT = "report"

    def __str__(self) -> str:
        return str(self.value)
