from enum import Enum

class ExportLayout(str, Enum):
    FULL = "full"
    REPORT = "report"

    def __str__(self) -> str:
        return str(self.value)
