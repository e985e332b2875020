"""The base of the client's errors (the class per code is in `_codes.py`)."""

from __future__ import annotations

from typing import Any, Optional


class CreditdError(Exception):
    """A refusal or failure answered by creditd (or a failure to reach it).

    `status` is the HTTP status (None when no answer came), `code` the
    stable `error.code` (`insufficient_credits`, ...), `message` the text for
    people, `request_id` the server's `x-request-id` (quote it when asking
    for help) and `body` the decoded error body.
    """

    CODE: Optional[str] = None
    STATUS: Optional[int] = None

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        request_id: Optional[str] = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code if code is not None else self.CODE
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        parts = [p for p in (str(self.status) if self.status else None, self.code) if p]
        head = " ".join(parts)
        rid = f" (request {self.request_id})" if self.request_id else ""
        return f"{head}: {self.message}{rid}" if head else f"{self.message}{rid}"


class CreditdConnectionError(CreditdError):
    """creditd could not be reached, or the connection broke, every time it was tried."""


class UnexpectedResponse(CreditdError):
    """An answer that is not what the API documents (e.g. a proxy's HTML page)."""
