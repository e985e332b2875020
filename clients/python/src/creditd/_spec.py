"""What a client needs to know of one operation of the API."""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple


class Operation(NamedTuple):
    """One operation of openapi.json (the table is in `_operations.py`)."""

    id: str
    method: str
    path: str
    response: Optional[str]
    idempotent: bool
    """The operation takes an `Idempotency-Key`: a retry gets the first answer."""
    alternatives: Tuple[str, ...] = ()
    """For an answer that is one of several schemas (`HistoryPage`: `Page`, or
    `SeedPage` with `fields=events`), their model names, tried in order."""
