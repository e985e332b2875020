from enum import Enum

class RecordStatus(str, Enum):
    CONSUMED = "consumed"
    DEBITED = "debited"
    FAILED = "failed"
    OPEN = "open"
    PROCESSING = "processing"
    RELEASED = "released"
    REVERSED = "reversed"
    SUCCEEDED = "succeeded"

    def __str__(self) -> str:
        return str(self.value)
