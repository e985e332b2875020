from enum import Enum

class OpName(str, Enum):
    ADJUSTMENT = "adjustment"
    BILLING = "billing"
    CREDITS = "credits"
    DEBIT = "debit"
    EXTEND = "extend"
    HOLD = "hold"
    REFUND = "refund"
    RELEASE = "release"
    REVERSE = "reverse"
    SETTLE = "settle"
    USAGE = "usage"

    def __str__(self) -> str:
        return str(self.value)
