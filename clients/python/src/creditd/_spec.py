"""What a client needs to know of one operation of the API."""

from __future__ import annotations

from typing import NamedTuple, Optional


class Operation(NamedTuple):
    """One operation of openapi.json (the table is in `_operations.py`)."""

    id: str
    method: str
    path: str
    response: Optional[str]
    idempotent: bool
    """The operation takes an `Idempotency-Key`: a retry gets the first answer."""
