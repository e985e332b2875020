from enum import Enum

class WebhookTypeName(str, Enum):
    DEPLETED = "depleted"
    HOLD_EXPIRED = "hold_expired"
    LOW_BALANCE = "low_balance"
    PURCHASE_REVERSED = "purchase_reversed"
    PURCHASE_SETTLED = "purchase_settled"
    RENEWAL = "renewal"

    def __str__(self) -> str:
        return str(self.value)
