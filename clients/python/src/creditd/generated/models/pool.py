from enum import Enum

class Pool(str, Enum):
    PLAN = "plan"
    PREPAID = "prepaid"
    PROMOTIONAL = "promotional"
    VOUCHER = "voucher"

    def __str__(self) -> str:
        return str(self.value)
