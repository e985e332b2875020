from enum import Enum

class Status(str, Enum):
    FAILED = "failed"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"

    def __str__(self) -> str:
        return str(self.value)
