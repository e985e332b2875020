from enum import Enum

class EventKind(str, Enum):
    ADJUSTMENT = "adjustment"
    BILLING = "billing"
    DEBIT = "debit"
    EXPIRY = "expiry"
    GRANT = "grant"
    HOLD = "hold"
    PURCHASE = "purchase"
    REFUND = "refund"
    RELEASE = "release"
    REVERSAL = "reversal"
    SUBSCRIPTION_CREDIT = "subscription_credit"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    USAGE = "usage"
    VOUCHER = "voucher"

    def __str__(self) -> str:
        return str(self.value)
