"""The Python client against a live creditd (see conftest.py)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import httpx
import jsonschema
import pytest

import creditd
from creditd import AsyncClient, Client, CreditdError, models
from creditd._operations import OPERATIONS

from conftest import DOC, ROOT, check_against_document


def test_grant_hold_debit_with_exact_amounts(client, org):
    g = client.grant_credits(org, kind="grant", amount="100.000001", description="Welcome")
    assert isinstance(g, models.WriteResult)
    assert g.balance.available == Decimal("100.000001")
    h = client.create_hold(org, amount=Decimal("30.5"), user_email="ana@acme.example", service="AI")
    assert h.hold.id.startswith("hold_")
    assert h.balance.available == Decimal("69.500001") and h.balance.held == Decimal("30.5")
    d = client.debit_hold(org, h.hold.id, amount="12.25")
    assert d.balance.held == 0 and d.balance.available == Decimal("87.750001")
    # A body given as a generated model works the same.
    h2 = client.create_hold(org, models.HoldRequest(amount="1"))
    r = client.release_hold(org, h2.hold.id)
    assert r.balance.available == Decimal("87.750001")
    assert client.get_balance(org).available == Decimal("87.750001")


def test_amounts_beyond_float_precision_stay_exact(client, org):
    # 18 significant digits: a float would round this; Decimal keeps it.
    big = Decimal("123456789012.345678")
    r = client.grant_credits(org, kind="grant", amount=big)
    assert r.balance.available == big and float(big) != big
    assert client.get_balance(org).available == big
    assert [e.amount for e in client.iter_credit_events(org)] == [big]


def test_errors_are_typed_by_code(client, org):
    client.grant_credits(org, kind="grant", amount=10)
    with pytest.raises(creditd.InsufficientCredits) as e:
        client.create_hold(org, amount=11)
    err = e.value
    assert isinstance(err, CreditdError)
    assert (err.status, err.code) == (409, "insufficient_credits")
    assert "insufficient" in err.message and err.request_id
    h = client.create_hold(org, amount=1)
    client.debit_hold(org, h.hold.id)
    with pytest.raises(creditd.HoldAlreadySettled):
        client.debit_hold(org, h.hold.id)
    with pytest.raises(creditd.HoldNotFound):
        client.release_hold(org, "hold_999999")
    with pytest.raises(creditd.ValidationError) as v:
        client.create_hold(org, amount="1.0000001")
    assert v.value.status == 422
    with pytest.raises(creditd.NotFound):
        client.get_balance("no-such-org-" + org)
    with pytest.raises(creditd.AlreadyExists):
        client.create_organization(id=org, name="again")


def test_cap_exceeded_is_typed(client, org):
    client.grant_credits(org, kind="grant", amount=100)
    client.add_member(org, email="mia@acme.example", name="Mia", role="owner")
    client.set_cap(org, member="mia@acme.example", limit=20)
    with pytest.raises(creditd.CapExceeded) as e:
        client.record_usage(org, amount=25, user_email="mia@acme.example")
    assert e.value.status == 409
    assert client.get_balance(org).available == 100


def test_bad_key_is_unauthorized(server, checked_http):
    with Client(server.url, "not-a-key-at-all-xxxx", http_client=checked_http) as c:
        with pytest.raises(creditd.Unauthorized) as e:
            c.get_health() if False else c.list_api_keys()
    assert e.value.status == 401


def test_one_class_per_server_code():
    text = (ROOT / "crates/creditd-core/src/error.rs").read_text()
    codes = set(re.findall(r'^\s+\w+ = "(\w+)", \d{3};', text, re.M))
    assert len(codes) > 20
    assert set(creditd.errors.ERRORS_BY_CODE) == codes
    for code, cls in creditd.errors.ERRORS_BY_CODE.items():
        assert issubclass(cls, CreditdError) and cls.CODE == code
        assert getattr(creditd, cls.__name__) is cls


def test_every_json_operation_has_a_method():
    for path, ops in DOC["paths"].items():
        for method, op in ops.items():
            ok = op["responses"].get("201") or op["responses"].get("200")
            if "dashboard" in op["tags"] or list(ok.get("content", {})) != ["application/json"]:
                continue
            name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", op["operationId"]).lower()
            assert callable(getattr(Client, name)), name
            assert asyncio.iscoroutinefunction(getattr(AsyncClient, name)), name
            assert OPERATIONS[op["operationId"]].path == path
    assert callable(Client.export_credit_events)


def test_every_write_sends_an_idempotency_key_and_replays(server, org):
    seen = []

    def record(request: httpx.Request) -> None:
        seen.append((request.method, request.headers.get("idempotency-key")))

    with httpx.Client(event_hooks={"request": [record]}) as http, Client(server.url, server.key, http_client=http) as c:
        c.grant_credits(org, kind="grant", amount=5)
        c.grant_credits(org, kind="grant", amount=5, idempotency_key="mine-1")
        again = c.grant_credits(org, kind="grant", amount=5, idempotency_key="mine-1")
        c.get_balance(org)
        with pytest.raises(creditd.IdempotencyConflict):
            c.grant_credits(org, kind="grant", amount=6, idempotency_key="mine-1")
    assert again.balance.available == 10  # the replay: applied once
    posts = [k for m, k in seen if m == "POST"]
    assert all(posts) and posts[1:4] == ["mine-1"] * 3
    assert re.fullmatch(r"[0-9a-f-]{36}", posts[0])
    assert [k for m, k in seen if m == "GET"] == [None]


def test_history_iterator_follows_cursors(client, org):
    client.grant_credits(org, kind="grant", amount=1000)
    for i in range(11):
        client.record_usage(org, amount=1, service="AI", project_id=f"p{i % 2}")
    first = client.list_credit_events(org, limit=5)
    assert len(first.events) == 5 and first.next_cursor
    pages = list(client.iter_credit_event_pages(org, page_size=5))
    assert [len(p.events) for p in pages] == [5, 5, 2]
    events = list(client.iter_credit_events(org, page_size=4))
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 12
    # Filters travel with every page; a list is sent as repeated values.
    usage = list(client.iter_credit_events(org, page_size=2, event_type=["usage"], project_id="p0"))
    assert len(usage) == 6 and all(e.project_id == "p0" for e in usage)


def test_export_streams_to_a_file(client, org, tmp_path):
    client.grant_credits(org, kind="grant", amount=50)
    client.record_usage(org, amount="2.5", service="AI", description="=SUM(A1)")
    out = client.export_credit_events(org, tmp_path, format="csv", layout="full")
    assert out.path.parent == tmp_path and out.filename and out.path.name == out.filename
    assert out.bytes == out.path.stat().st_size > 0 and out.content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(out.path.read_text())))
    assert [r["kind"] for r in rows] == ["grant", "usage"]
    assert not list(tmp_path.glob("*.part"))
    buf = io.BytesIO()
    x = client.export_credit_events(org, buf, format="xlsx")
    assert buf.getvalue()[:2] == b"PK" and x.bytes == len(buf.getvalue())
    with pytest.raises(creditd.NotFound):
        client.export_credit_events("nope-" + org, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x.csv.part").exists()


def test_async_client(server, org, async_http, tmp_path):
    async def main():
        async with AsyncClient(server.url, server.key, http_client=async_http) as c:
            await c.grant_credits(org, kind="grant", amount=20)
            h = await c.create_hold(org, amount=5)
            await c.debit_hold(org, h.hold.id)
            with pytest.raises(creditd.InsufficientCredits):
                await c.create_hold(org, amount=100)
            seqs = [e.seq async for e in c.iter_credit_events(org, page_size=1)]
            out = await c.export_credit_events(org, tmp_path / "h.csv")
            await async_http.aclose()
            return seqs, out

    seqs, out = asyncio.run(main())
    assert seqs == [3, 2, 1]
    assert out.path == tmp_path / "h.csv" and out.path.read_text().count("\n") == 4


def test_a_response_off_the_document_fails_the_check():
    good = {
        "events": [],
        "limit": 5,
    }
    check_against_document("GET", "/api/organizations/acme/credit-events", 200, "application/json", json.dumps(good).encode())
    with pytest.raises(jsonschema.ValidationError):
        check_against_document("GET", "/api/organizations/acme/credit-events", 200, "application/json", b'{"events": []}')
    with pytest.raises(jsonschema.ValidationError):
        bad = {"error": {"code": 3, "message": "x"}}
        check_against_document("POST", "/api/organizations/acme/holds", 409, "application/json", json.dumps(bad).encode())
    with pytest.raises(AssertionError):
        check_against_document("GET", "/api/nothing-here", 200, "application/json", b"{}")
