"""The test session's creditd: a real `creditd serve` on a free loopback
port with a temporary data directory and a service key given by
environment, and a check of every answer against openapi.json."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import httpx
import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[3]
DOC = json.loads((ROOT / "openapi.json").read_text())


def creditd_binary() -> Path:
    if os.environ.get("CREDITD_BIN"):
        return Path(os.environ["CREDITD_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "debug" / "creditd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, key: str, data_dir: str, proc: subprocess.Popen) -> None:
        self.url, self.key, self.data_dir, self.proc = url, key, data_dir, proc


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    binary = creditd_binary()
    if not binary.exists():
        pytest.fail(f"no creditd binary at {binary}: run `cargo build -p creditd` or set CREDITD_BIN")
    data = tempfile.mkdtemp(prefix="creditd-pytest-")
    key = "pytest-service-key-" + uuid.uuid4().hex
    port = free_port()
    env = dict(os.environ, CREDITD_SERVICE_KEY=key, RUST_LOG="warn")
    log = open(Path(data) / "server.log", "wb")
    proc = subprocess.Popen(
        [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", f"{data}/db",
         "--webhook-allow-network", "127.0.0.0/8"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail("creditd did not become ready:\n" + (Path(data) / "server.log").read_text())
        time.sleep(0.05)
    yield Server(url, key, data, proc)
    proc.terminate()
    proc.wait(10)


# ---- answers against the document ------------------------------------------


def _route_table() -> List[Tuple[str, "re.Pattern[str]", Dict[str, Any]]]:
    table = []
    for path, ops in DOC["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$")
        for method, op in ops.items():
            table.append((method.upper(), pattern, op))
    # Literal paths before templated ones (…/conversations/usage before …/{id}).
    table.sort(key=lambda t: t[1].pattern.count("[^/]+"))
    return table


ROUTES = _route_table()


def response_schema(method: str, path: str, status: int) -> Optional[Dict[str, Any]]:
    """The document's JSON schema for this answer, None when it documents
    none (a non-JSON answer); fails when the route or status is undocumented."""
    for m, pattern, op in ROUTES:
        if m == method and pattern.match(path):
            responses = op["responses"]
            r = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
            if r is None:
                raise AssertionError(f"{method} {path}: status {status} is not in the document ({sorted(responses)})")
            content = r.get("content", {}).get("application/json")
            return content["schema"] if content else None
    raise AssertionError(f"{method} {path} is not in the document")


def check_against_document(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    """Raises when an answer does not match openapi.json."""
    schema = response_schema(method, path, status)
    if schema is None:
        return
    assert content_type.startswith("application/json"), f"{method} {path} {status}: content-type {content_type}"
    instance = json.loads(body)
    jsonschema.Draft202012Validator({**schema, "components": DOC["components"]}).validate(instance)


CHECKED: List[str] = []


def _hook(response: httpx.Response) -> None:
    response.read()
    req = response.request
    check_against_document(req.method, req.url.path, response.status_code,
                           response.headers.get("content-type", ""), response.content)
    CHECKED.append(f"{req.method} {req.url.path} {response.status_code}")


async def _ahook(response: httpx.Response) -> None:
    await response.aread()
    _hook(response)


@pytest.fixture
def checked_http() -> Iterator[httpx.Client]:
    """An httpx.Client that checks every answer against the document."""
    with httpx.Client(event_hooks={"response": [_hook]}, timeout=30) as c:
        yield c


@pytest.fixture
def client(server: Server, checked_http: httpx.Client):
    from creditd import Client

    with Client(server.url, server.key, http_client=checked_http, backoff=0.01) as c:
        yield c


@pytest.fixture
def async_http():
    return httpx.AsyncClient(event_hooks={"response": [_ahook]}, timeout=30)


@pytest.fixture
def org(client) -> str:
    """A fresh organisation."""
    org_id = "org-" + uuid.uuid4().hex[:12]
    client.create_organization(id=org_id, name="Test " + org_id, time_zone="Europe/Madrid")
    return org_id
