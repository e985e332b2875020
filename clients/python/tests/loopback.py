"""Loopback helpers for the tests: a proxy that misbehaves on purpose, and
a webhook receiver."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional

import httpx


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def start(handler: type, **state: Any) -> _Server:
    srv = _Server(("127.0.0.1", 0), handler)
    for k, v in state.items():
        setattr(srv, k, v)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def url(srv: _Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


class FaultyProxy(BaseHTTPRequestHandler):
    """Forwards to `server.upstream`, but for the first `server.faults`
    requests: `drop` forwards the request (so creditd applies it) and then
    closes the connection without an answer; `503`/`429` answer that
    without forwarding. Every request is recorded in `server.seen`. With
    `server.home`, the answers to writes name it in `Creditd-Home-Node`, as
    a node that forwarded them to their home node does."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        srv: Any = self.server
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        with srv.lock:
            srv.seen.append({"method": self.command, "path": self.path, "key": self.headers.get("idempotency-key")})
            fault = srv.faults.pop(0) if srv.faults else None
        if fault in ("503", "429"):
            payload = json.dumps({"error": {"code": "overloaded" if fault == "503" else "too_many_exports",
                                            "message": "try again"}}).encode()
            self.send_response(int(fault))
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            if fault == "429":
                self.send_header("retry-after", "0")
            self.end_headers()
            self.wfile.write(payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
        r = httpx.request(self.command, srv.upstream + self.path, headers=headers, content=body)
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.send_response(r.status_code)
        for k, v in r.headers.items():
            if k.lower() not in ("transfer-encoding", "connection", "content-length", "content-encoding"):
                self.send_header(k, v)
        if srv.home and self.command != "GET":
            self.send_header("creditd-home-node", srv.home)
        self.send_header("content-length", str(len(r.content)))
        self.end_headers()
        self.wfile.write(r.content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


def proxy(upstream: str, faults: List[str], home: Optional[str] = None) -> _Server:
    return start(FaultyProxy, upstream=upstream, faults=list(faults), seen=[], lock=threading.Lock(), home=home)


class Receiver(BaseHTTPRequestHandler):
    """Stores each POST (headers and raw body) in `server.got` and answers 200."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        srv: Any = self.server
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        srv.got.append((dict(self.headers.items()), body))
        srv.arrived.set()
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()


def receiver() -> _Server:
    return start(Receiver, got=[], arrived=threading.Event())


def first(srv: Any, timeout: float) -> Optional[Dict[str, Any]]:
    return srv.got[0] if srv.arrived.wait(timeout) else None
