from enum import Enum

class CreditKind(str, Enum):
    GRANT = "grant"
    PURCHASE = "purchase"
    SUBSCRIPTION_CREDIT = "subscription_credit"
    VOUCHER = "voucher"

    def __str__(self) -> str:
        return str(self.value)
