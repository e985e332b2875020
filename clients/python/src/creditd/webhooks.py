"""Checking a webhook delivery's signature, as creditd signs it.

`Creditd-Signature: t=<unix seconds>,v1=<hex>`, the hex HMAC-SHA256 of
`"<Creditd-Webhook-Id>.<t>.<raw body>"` under the endpoint's secret
(`whsec_…`); several `v1=` may be given (any one matching is enough). The
timestamp must be within `tolerance` seconds of now, which bounds replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Mapping, Optional, Union


class WebhookVerificationError(ValueError):
    """The delivery is not signed by the secret, or is too old or too new."""


def sign(secret: str, message_id: str, timestamp: int, body: Union[bytes, str]) -> str:
    """The `Creditd-Signature` header creditd sends (for tests of receivers)."""
    raw = body.encode() if isinstance(body, str) else body
    mac = hmac.new(secret.encode(), f"{message_id}.{timestamp}.".encode() + raw, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_webhook(secret: str, headers: Mapping[str, str], body: Union[bytes, str], *, tolerance: int = 300,
                   now: Optional[float] = None) -> Any:
    """Checks a delivery and returns its decoded JSON body; raises
    `WebhookVerificationError` otherwise. Give the raw body as received
    (bytes), before any JSON parsing; `headers` is any mapping (names in
    any case)."""
    lower = {k.lower(): v for k, v in headers.items()}
    header = lower.get("creditd-signature")
    message_id = lower.get("creditd-webhook-id")
    if not header or not message_id:
        raise WebhookVerificationError("missing Creditd-Signature or Creditd-Webhook-Id header")
    t: Optional[int] = None
    sigs = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                t = int(value)
            except ValueError:
                raise WebhookVerificationError("bad timestamp in Creditd-Signature") from None
        elif name == "v1":
            sigs.append(value)
    if t is None or not sigs:
        raise WebhookVerificationError("Creditd-Signature lacks t= or v1=")
    current = time.time() if now is None else now
    if abs(current - t) > tolerance:
        raise WebhookVerificationError(f"timestamp {t} is more than {tolerance} s from now")
    raw = body.encode() if isinstance(body, str) else body
    good = hmac.new(secret.encode(), f"{message_id}.{t}.".encode() + raw, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(good, s) for s in sigs):
        raise WebhookVerificationError("signature does not match")
    return json.loads(raw)
