from enum import Enum

class UsageGroup(str, Enum):
    ACTION = "action"
    DAY = "day"
    ORG = "org"
    PRICE = "price"
    PROJECT = "project"
    SERVICE = "service"
    USER = "user"

    def __str__(self) -> str:
        return str(self.value)
