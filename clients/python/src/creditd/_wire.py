"""What the sync and async clients share: building requests, reading
answers, the retry policy. No input or output happens here."""

from __future__ import annotations

import enum
import json
import random
import re
import threading
import uuid
from decimal import Decimal
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple
from urllib.parse import quote, urlsplit

from ._codes import ERRORS_BY_CODE
from ._errors_base import CreditdError, UnexpectedResponse
from ._spec import Operation

#: Statuses worth another try: nothing was applied (creditd answers 5xx
#: only when it stored nothing: storage_error, overloaded, shutting_down,
#: not_ready) or the caller was asked to slow down.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

#: Longest `Retry-After` honoured, in seconds.
MAX_RETRY_AFTER = 60.0


#: The answer header that names an organisation's home node.
HOME_NODE_HEADER = "creditd-home-node"

#: Most organisations whose home node a client remembers; past it, it starts over.
MAX_REMEMBERED_HOMES = 10_000


def node_url(url: str) -> str:
    """An http(s) base URL with a host, without a trailing `/`; ValueError otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL with a host")
    return url.strip().rstrip("/")


def _node_key(url: str) -> Optional[Tuple[str, str, int, str]]:
    try:
        p = urlsplit(url.strip())
        port = p.port or (443 if p.scheme == "https" else 80)
    except ValueError:
        return None
    if p.scheme not in ("http", "https") or not p.hostname:
        return None
    return (p.scheme, p.hostname.lower(), port, p.path.rstrip("/"))


def org_of_write(op: Operation, path: Mapping[str, str]) -> Optional[str]:
    """The organisation a write is for, when an org's home node takes it:
    a non-GET operation on `/api/organizations/{org_id}` or under it."""
    if op.method == "GET" or not op.path.startswith("/api/organizations/{org_id}"):
        return None
    org = path.get("org_id")
    return str(org) if org else None


class Homes:
    """Where each organisation's writes go (see the README, "Several
    nodes"): a node of `nodes` that an answer named in `Creditd-Home-Node`,
    else the base URL. A URL not in `nodes` is never followed, so the key
    never goes to a host the caller did not name. Thread-safe, bounded."""

    def __init__(self, nodes: Iterable[str]) -> None:
        self._nodes: Dict[Tuple[str, str, int, str], str] = {}
        for n in nodes:
            url = node_url(n)
            key = _node_key(url)
            assert key is not None
            self._nodes[key] = url
        self._by_org: Dict[str, str] = {}
        self._lock = threading.Lock()

    def of(self, org: Optional[str]) -> Optional[str]:
        if org is None or not self._nodes:
            return None
        with self._lock:
            return self._by_org.get(org)

    def learn(self, org: Optional[str], named: Optional[str]) -> None:
        """Takes an answer's header: a listed node is remembered, anything
        else named (the base URL, an unknown host) is forgotten."""
        if org is None or not self._nodes or named is None:
            return
        key = _node_key(named)
        node = self._nodes.get(key) if key else None
        with self._lock:
            if node is None:
                self._by_org.pop(org, None)
                return
            if len(self._by_org) >= MAX_REMEMBERED_HOMES and org not in self._by_org:
                self._by_org.clear()
            self._by_org[org] = node

    def forget(self, org: Optional[str]) -> None:
        if org is not None:
            with self._lock:
                self._by_org.pop(org, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_org)


def new_idempotency_key() -> str:
    """A fresh key for one logical write (a random UUID, 36 characters)."""
    return str(uuid.uuid4())


def _plain(value: Any) -> Any:
    """JSON-ready: `Decimal` amounts become their exact decimal string
    (never a float), enums their value, models their dict."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return _plain(value.to_dict())
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def body_json(body: Any, fields: Optional[Mapping[str, Any]]) -> Optional[bytes]:
    """The request body: a generated model or a mapping, with keyword fields
    on top (a keyword wins). None when there is nothing to send."""
    merged: Dict[str, Any] = {}
    if body is not None:
        merged.update(_plain(body))
    if fields:
        merged.update(_plain(dict(fields)))
    if body is None and not fields:
        return None
    return json.dumps(merged, separators=(",", ":")).encode()


def query_params(query: Optional[Mapping[str, Any]]) -> List[Tuple[str, str]]:
    """Query pairs; a list is sent as repeated parameters (the document's
    `explode: true`); None is left out."""
    out: List[Tuple[str, str]] = []
    for name, value in (query or {}).items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            v = _plain(v)
            out.append((name, "true" if v is True else "false" if v is False else str(v)))
    return out


def url_path(op: Operation, path: Mapping[str, str]) -> str:
    def sub(m: "re.Match[str]") -> str:
        name = m.group(1)
        if name not in path or path[name] is None or str(path[name]) == "":
            raise ValueError(f"{op.id}: {name} is required")
        return quote(str(path[name]), safe="")

    return re.sub(r"\{(\w+)\}", sub, op.path)


def decode_json(content: bytes) -> Any:
    """JSON with exact amounts: a number with a fraction or exponent is a
    `Decimal` (never a float); whole numbers are `int`."""
    return json.loads(content, parse_float=Decimal)


def may_resend(op: Operation) -> bool:
    """Whether a request that may have reached the server can be sent again:
    reads, PUTs (they set a value) and writes that take an Idempotency-Key
    (a retry with the same key gets the first answer). Other writes are
    retried only when the request surely did not arrive (refused
    connection) or the server said it applied nothing (429, 5xx)."""
    return op.method in ("GET", "PUT") or op.idempotent


def backoff(attempt: int, base: float, cap: float, retry_after: Optional[str]) -> float:
    """Seconds to wait before try `attempt + 1`: `base` doubled each try up
    to `cap`, with jitter (between half and all of it); a server's
    `Retry-After` (seconds) wins when given, up to MAX_RETRY_AFTER."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
        except ValueError:
            pass
    full = min(cap, base * (2**attempt))
    return full * (0.5 + random.random() / 2)


def error_from(status: int, headers: Mapping[str, str], content: bytes) -> CreditdError:
    """The typed exception for an error answer (`{"error": {"code", "message"}}`)."""
    request_id = headers.get("x-request-id")
    try:
        body = decode_json(content)
        detail = body["error"]
        code, message = str(detail["code"]), str(detail["message"])
    except (ValueError, KeyError, TypeError):
        text = content[:200].decode("utf-8", "replace")
        return UnexpectedResponse(f"HTTP {status} without the API's error shape: {text!r}", status=status, request_id=request_id)
    cls = ERRORS_BY_CODE.get(code, CreditdError)
    return cls(message, status=status, code=code, request_id=request_id, body=body)


def content_disposition_filename(value: Optional[str]) -> Optional[str]:
    """The file name a download suggests, without any directory part."""
    if not value:
        return None
    m = re.search(r'filename="([^"]+)"', value) or re.search(r"filename=([^;]+)", value)
    if not m:
        return None
    name = m.group(1).strip().replace("\\", "/").rsplit("/", 1)[-1]
    return name or None
