"""`Client` (sync) and `AsyncClient`: the API's operations, retried safely.

Every write sends an `Idempotency-Key` (a fresh UUID when the caller gives
none) and every retry of it sends the same key, so a write is applied once
however often it is retried. Connection errors, 429 and 5xx are retried up
to `max_retries` times with exponential back-off (see `_wire.backoff`).
Answers are decoded into the generated models (`creditd.models`) with
exact amounts: numbers with a fraction arrive as `decimal.Decimal`.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import IO, Any, AsyncIterator, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Tuple, Union

import httpx

from . import _wire
from ._errors_base import CreditdConnectionError, CreditdError, UnexpectedResponse
from ._operations import OPERATIONS, AsyncOperations, SyncOperations
from ._spec import Operation
from .generated import models

__version__ = "0.1.0"
DEFAULT_URL = "http://127.0.0.1:8080"

EXPORT = Operation("exportCreditEvents", "GET", "/api/organizations/{org_id}/credit-events/export", None, False)


class Export(NamedTuple):
    """A finished download: where it was written, the server's file name, its size."""

    path: Optional[Path]
    filename: Optional[str]
    bytes: int
    content_type: str


def _settings(base_url: Optional[str], api_key: Optional[str]) -> Tuple[str, str]:
    url = base_url or os.environ.get("CREDITD_URL") or DEFAULT_URL
    key = api_key or os.environ.get("CREDITD_API_KEY")
    if not key:
        raise ValueError("an API key is required: pass api_key= or set CREDITD_API_KEY")
    return url.rstrip("/"), key


def _parse(op: Operation, response: httpx.Response) -> Any:
    try:
        data = _wire.decode_json(response.content)
    except ValueError as e:
        raise UnexpectedResponse(f"{op.id}: the answer is not JSON ({e})", status=response.status_code,
                                 request_id=response.headers.get("x-request-id")) from e
    if op.response is None:
        return data
    for name in op.alternatives[:-1]:
        try:
            return getattr(models, name).from_dict(data)
        except (KeyError, TypeError, ValueError):
            continue
    name = op.alternatives[-1] if op.alternatives else op.response
    try:
        return getattr(models, name).from_dict(data)
    except (KeyError, TypeError, ValueError) as e:
        raise UnexpectedResponse(f"{op.id}: the answer does not match the {op.response} schema ({e!r})",
                                 status=response.status_code, request_id=response.headers.get("x-request-id"),
                                 body=data) from e


def _export_query(format: str, layout: Optional[str], order: Optional[str], filters: Mapping[str, Any]) -> List[Tuple[str, str]]:
    return _wire.query_params({"format": format, "layout": layout, "order": order, **filters})


def _target(dest: Union[str, "os.PathLike[str]"], filename: Optional[str], fmt: str) -> Path:
    p = Path(dest)
    if p.is_dir():
        return p / (filename or f"credit-history.{fmt}")
    return p


class _Send(NamedTuple):
    """One operation to send, and the organisation whose home it may go to."""

    path: str
    params: List[Tuple[str, str]]
    headers: dict
    content: Optional[bytes]
    org: Optional[str]


class _Base:
    def __init__(self, base_url: Optional[str], api_key: Optional[str], timeout: float, max_retries: int,
                 backoff: float, max_backoff: float, user_agent: Optional[str], nodes: Iterable[str]) -> None:
        self.base_url, self._key = _settings(base_url, api_key)
        self._homes = _wire.Homes(nodes)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._headers = {
            "authorization": f"Bearer {self._key}",
            "accept": "application/json",
            "user-agent": user_agent or f"creditd-python/{__version__}",
        }

    def _request_parts(self, op: Operation, path: Mapping[str, str], query: Any, body: Any, fields: Any,
                       idempotency_key: Optional[str]) -> _Send:
        rel = _wire.url_path(op, path)
        headers = dict(self._headers)
        content = _wire.body_json(body, fields)
        if content is not None:
            headers["content-type"] = "application/json"
        if op.method != "GET":
            # Every write carries a key; every retry below reuses it.
            headers["idempotency-key"] = idempotency_key or _wire.new_idempotency_key()
        params = query if isinstance(query, list) else _wire.query_params(query)
        return _Send(rel, params, headers, content, _wire.org_of_write(op, path))

    def _url(self, send: _Send) -> Tuple[str, bool]:
        """Where this try goes, and whether that is the org's home node."""
        home = self._homes.of(send.org)
        return (home or self.base_url) + send.path, home is not None

    def _home_failed(self, send: _Send, at_home: bool, error: Exception) -> bool:
        """After a transport error: forgets a home that failed; True when the
        request never left it (go straight on to the base URL)."""
        if not at_home:
            return False
        self._homes.forget(send.org)
        return isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout))

    def _answered(self, send: _Send, at_home: bool, response: httpx.Response) -> None:
        if at_home and response.status_code in _wire.RETRY_STATUSES:
            self._homes.forget(send.org)
        else:
            self._homes.learn(send.org, response.headers.get(_wire.HOME_NODE_HEADER))

    def _should_retry(self, op: Operation, attempt: int, error: Optional[Exception], status: Optional[int]) -> bool:
        if attempt >= self.max_retries:
            return False
        if error is not None:
            # Not connected at all: the request never left, any write may go again.
            return isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout)) or _wire.may_resend(op)
        return status in _wire.RETRY_STATUSES


class Client(SyncOperations, _Base):
    """A synchronous creditd client.

    `Client(base_url, api_key)`; both default to the environment
    (`CREDITD_URL`, else http://127.0.0.1:8080, and `CREDITD_API_KEY`).
    Pass `http_client=` to bring your own `httpx.Client` (proxies, TLS,
    event hooks). With several nodes on one PostgreSQL database, pass the
    others' URLs as `nodes=`: an organisation's writes then go to the node
    an answer names as its home (`Creditd-Home-Node`), and back to
    `base_url` if it fails. Use it as a context manager or call `close()`.
    """

    def __init__(self, base_url: Optional[str] = None, api_key: Optional[str] = None, *, timeout: float = 30.0,
                 max_retries: int = 3, backoff: float = 0.25, max_backoff: float = 8.0,
                 http_client: Optional[httpx.Client] = None, user_agent: Optional[str] = None,
                 nodes: Iterable[str] = ()) -> None:
        _Base.__init__(self, base_url, api_key, timeout, max_retries, backoff, max_backoff, user_agent, nodes)
        self._own = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)

    def close(self) -> None:
        if self._own:
            self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _send(self, op: Operation, path: Mapping[str, str], query: Any, body: Any, fields: Any,
              idempotency_key: Optional[str], stream: bool = False) -> httpx.Response:
        send = self._request_parts(op, path, query, body, fields, idempotency_key)
        attempt = 0
        fell_back = False  # a refused home goes straight on to the base URL, once per call
        while True:
            url, at_home = self._url(send)
            try:
                request = self._http.build_request(op.method, url, params=send.params, headers=send.headers,
                                                   content=send.content, timeout=self.timeout)
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as e:
                if self._home_failed(send, at_home, e) and not fell_back:
                    fell_back = True
                    continue
                if not self._should_retry(op, attempt, e, None):
                    raise CreditdConnectionError(f"{op.id}: {type(e).__name__}: {e}") from e
                time.sleep(_wire.backoff(attempt, self.backoff, self.max_backoff, None))
                attempt += 1
                continue
            self._answered(send, at_home, response)
            if response.status_code < 400:
                return response
            if stream:
                response.read()
                response.close()
            if not self._should_retry(op, attempt, None, response.status_code):
                raise _wire.error_from(response.status_code, response.headers, response.content)
            time.sleep(_wire.backoff(attempt, self.backoff, self.max_backoff, response.headers.get("retry-after")))
            attempt += 1

    def _call(self, op: Operation, path: Mapping[str, str], query: Any, body: Any, fields: Any,
              idempotency_key: Optional[str]) -> Any:
        return _parse(op, self._send(op, path, query, body, fields, idempotency_key))

    def iter_credit_events(self, org_id: str, *, page_size: int = 100, **filters: Any) -> Iterator["models.Event"]:
        """Every event matching the filters (those of `list_credit_events`),
        newest first, following `next_cursor` page after page. Pages by
        cursor never skip or repeat an event while new ones arrive."""
        for page in self.iter_credit_event_pages(org_id, page_size=page_size, **filters):
            yield from page.events

    def iter_credit_event_pages(self, org_id: str, *, page_size: int = 100, **filters: Any) -> Iterator["models.Page"]:
        """The history's pages, following `next_cursor` until the last one."""
        cursor: Optional[str] = None
        while True:
            page = self.list_credit_events(org_id, limit=page_size, cursor=cursor, **filters)
            yield page
            nxt = page.next_cursor
            if not isinstance(nxt, str) or not nxt or not page.events:
                return
            cursor = nxt

    def export_credit_events(self, org_id: str, dest: Union[str, "os.PathLike[str]", IO[bytes]], *, format: str = "csv",
                             layout: Optional[str] = None, order: Optional[str] = None, **filters: Any) -> Export:
        """Streams `GET …/credit-events/export` to `dest`: a file path, a
        directory (the server's file name is used) or a binary file object.
        A path is written as `<path>.part` and renamed when complete, so a
        broken download leaves no partial file under the final name."""
        query = _export_query(format, layout, order, filters)
        response = self._send(EXPORT, {"org_id": org_id}, query, None, None, None, stream=True)
        try:
            filename = _wire.content_disposition_filename(response.headers.get("content-disposition"))
            ctype = response.headers.get("content-type", "")
            if hasattr(dest, "write"):
                n = 0
                for chunk in response.iter_bytes():
                    dest.write(chunk)  # type: ignore[union-attr]
                    n += len(chunk)
                return Export(None, filename, n, ctype)
            target = _target(dest, filename, format)  # type: ignore[arg-type]
            part = target.with_name(target.name + ".part")
            n = 0
            try:
                with open(part, "wb") as f:
                    for chunk in response.iter_bytes():
                        f.write(chunk)
                        n += len(chunk)
                os.replace(part, target)
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            return Export(target, filename, n, ctype)
        except httpx.TransportError as e:
            raise CreditdConnectionError(f"exportCreditEvents: the download broke: {e}") from e
        finally:
            response.close()


class AsyncClient(AsyncOperations, _Base):
    """The asynchronous twin of `Client` (httpx.AsyncClient underneath):
    the same methods, awaited; `async with AsyncClient(...) as c:`."""

    def __init__(self, base_url: Optional[str] = None, api_key: Optional[str] = None, *, timeout: float = 30.0,
                 max_retries: int = 3, backoff: float = 0.25, max_backoff: float = 8.0,
                 http_client: Optional[httpx.AsyncClient] = None, user_agent: Optional[str] = None,
                 nodes: Iterable[str] = ()) -> None:
        _Base.__init__(self, base_url, api_key, timeout, max_retries, backoff, max_backoff, user_agent, nodes)
        self._own = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        if self._own:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def _send(self, op: Operation, path: Mapping[str, str], query: Any, body: Any, fields: Any,
                    idempotency_key: Optional[str], stream: bool = False) -> httpx.Response:
        send = self._request_parts(op, path, query, body, fields, idempotency_key)
        attempt = 0
        fell_back = False  # a refused home goes straight on to the base URL, once per call
        while True:
            url, at_home = self._url(send)
            try:
                request = self._http.build_request(op.method, url, params=send.params, headers=send.headers,
                                                   content=send.content, timeout=self.timeout)
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as e:
                if self._home_failed(send, at_home, e) and not fell_back:
                    fell_back = True
                    continue
                if not self._should_retry(op, attempt, e, None):
                    raise CreditdConnectionError(f"{op.id}: {type(e).__name__}: {e}") from e
                await asyncio.sleep(_wire.backoff(attempt, self.backoff, self.max_backoff, None))
                attempt += 1
                continue
            self._answered(send, at_home, response)
            if response.status_code < 400:
                return response
            if stream:
                await response.aread()
                await response.aclose()
            if not self._should_retry(op, attempt, None, response.status_code):
                raise _wire.error_from(response.status_code, response.headers, response.content)
            await asyncio.sleep(_wire.backoff(attempt, self.backoff, self.max_backoff, response.headers.get("retry-after")))
            attempt += 1

    async def _call(self, op: Operation, path: Mapping[str, str], query: Any, body: Any, fields: Any,
                    idempotency_key: Optional[str]) -> Any:
        return _parse(op, await self._send(op, path, query, body, fields, idempotency_key))

    async def iter_credit_events(self, org_id: str, *, page_size: int = 100, **filters: Any) -> AsyncIterator["models.Event"]:
        """`async for event in client.iter_credit_events(org)`: see `Client.iter_credit_events`."""
        async for page in self.iter_credit_event_pages(org_id, page_size=page_size, **filters):
            for event in page.events:
                yield event

    async def iter_credit_event_pages(self, org_id: str, *, page_size: int = 100, **filters: Any) -> AsyncIterator["models.Page"]:
        cursor: Optional[str] = None
        while True:
            page = await self.list_credit_events(org_id, limit=page_size, cursor=cursor, **filters)
            yield page
            nxt = page.next_cursor
            if not isinstance(nxt, str) or not nxt or not page.events:
                return
            cursor = nxt

    async def export_credit_events(self, org_id: str, dest: Union[str, "os.PathLike[str]", IO[bytes]], *,
                                   format: str = "csv", layout: Optional[str] = None, order: Optional[str] = None,
                                   **filters: Any) -> Export:
        """See `Client.export_credit_events` (the file is written by blocking writes of each chunk)."""
        query = _export_query(format, layout, order, filters)
        response = await self._send(EXPORT, {"org_id": org_id}, query, None, None, None, stream=True)
        try:
            filename = _wire.content_disposition_filename(response.headers.get("content-disposition"))
            ctype = response.headers.get("content-type", "")
            if hasattr(dest, "write"):
                n = 0
                async for chunk in response.aiter_bytes():
                    dest.write(chunk)  # type: ignore[union-attr]
                    n += len(chunk)
                return Export(None, filename, n, ctype)
            target = _target(dest, filename, format)  # type: ignore[arg-type]
            part = target.with_name(target.name + ".part")
            n = 0
            try:
                with open(part, "wb") as f:
                    async for chunk in response.aiter_bytes():
                        f.write(chunk)
                        n += len(chunk)
                os.replace(part, target)
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            return Export(target, filename, n, ctype)
        except httpx.TransportError as e:
            raise CreditdConnectionError(f"exportCreditEvents: the download broke: {e}") from e
        finally:
            await response.aclose()


__all__ = ["Client", "AsyncClient", "Export", "CreditdError", "OPERATIONS"]
