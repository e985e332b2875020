from enum import Enum

class WebhookTypeName(str, Enum):
    DEPLETED = "depleted"
    HOLD_EXPIRED = "hold_expired"
    LOW_BALANCE = "low_balance"
    PLAN_CHANGE_REQUESTED = "plan_change.requested"
    PURCHASE_REVERSED = "purchase_reversed"
    PURCHASE_SETTLED = "purchase_settled"
    RENEWAL = "renewal"
    TOP_UP_PAUSED = "top_up.paused"
    TOP_UP_REQUESTED = "top_up.requested"
    USAGE_ALERT = "usage_alert"

    def __str__(self) -> str:
        return str(self.value)
