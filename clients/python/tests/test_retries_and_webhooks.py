"""Retries reuse the Idempotency-Key; webhook signatures from a live server verify."""

from __future__ import annotations

import time

import pytest

import creditd
from creditd import Client, verify_webhook, WebhookVerificationError

import loopback


def test_a_lost_answer_is_retried_with_the_same_key_and_applied_once(server, org):
    p = loopback.proxy(server.url, ["drop"])
    try:
        with Client(loopback.url(p), server.key, backoff=0.01) as c:
            r = c.grant_credits(org, kind="grant", amount=100)
            assert r.balance.available == 100
            assert c.get_balance(org).available == 100  # applied once, not twice
            events = list(c.iter_credit_events(org))
    finally:
        p.shutdown()
    posts = [s for s in p.seen if s["method"] == "POST"]
    assert len(posts) == 2, p.seen
    assert posts[0]["key"] and posts[0]["key"] == posts[1]["key"]
    assert [e.kind.value for e in events] == ["grant"]


def test_503_and_429_are_retried_with_the_same_key(server, org):
    p = loopback.proxy(server.url, ["503", "429"])
    try:
        with Client(loopback.url(p), server.key, backoff=0.01) as c:
            h = c.grant_credits(org, kind="grant", amount=7, idempotency_key="given-key")
    finally:
        p.shutdown()
    assert h.balance.available == 7
    assert [s["key"] for s in p.seen] == ["given-key"] * 3


def test_retries_give_up_with_the_last_error(server, org):
    p = loopback.proxy(server.url, ["503"] * 3)
    try:
        with Client(loopback.url(p), server.key, backoff=0.01, max_retries=2) as c:
            with pytest.raises(creditd.Overloaded) as e:
                c.grant_credits(org, kind="grant", amount=7)
    finally:
        p.shutdown()
    assert e.value.status == 503 and len(p.seen) == 3
    assert len({s["key"] for s in p.seen}) == 1


def test_a_write_without_idempotency_is_not_resent_after_a_lost_answer(server):
    p = loopback.proxy(server.url, ["drop"])
    try:
        with Client(loopback.url(p), server.key, backoff=0.01) as c:
            with pytest.raises(creditd.CreditdConnectionError):
                c.create_organization(id="lost-answer-org", name="x")
            assert c.get_organization("lost-answer-org").id == "lost-answer-org"
    finally:
        p.shutdown()
    assert [s["method"] for s in p.seen] == ["POST", "GET"]


def test_connection_refused_is_retried_then_raised(server):
    with Client("http://127.0.0.1:9", server.key, backoff=0.01, max_retries=2) as c:
        t = time.monotonic()
        with pytest.raises(creditd.CreditdConnectionError):
            c.get_balance("acme")
        assert time.monotonic() - t < 5


def test_a_live_webhook_verifies(client, org):
    rx = loopback.receiver()
    try:
        created = client.create_webhook_endpoint(org, url=loopback.url(rx) + "/hooks", event_types=["depleted"])
        secret = created.secret
        assert secret.startswith("whsec_")
        client.grant_credits(org, kind="grant", amount=10)
        client.record_usage(org, amount=10)
        got = loopback.first(rx, 20)
        assert got is not None, "no delivery within 20 s"
        raw_headers, body = got
        msg = verify_webhook(secret, raw_headers, body)  # header names as sent (any case)
        headers = {k.title(): v for k, v in raw_headers.items()}
        msg = verify_webhook(secret, headers, body)
        assert msg["type"] == "depleted" and msg["org_id"] == org and msg["data"]["available"] == 0
        assert msg["id"] == headers["Creditd-Webhook-Id"]
        with pytest.raises(WebhookVerificationError):
            verify_webhook(secret, headers, body.replace(b'"available":0', b'"available":9'))
        with pytest.raises(WebhookVerificationError):
            verify_webhook("whsec_wrong", headers, body)
        with pytest.raises(WebhookVerificationError):
            verify_webhook(secret, headers, body, now=time.time() + 301)
        with pytest.raises(WebhookVerificationError):
            verify_webhook(secret, {"Creditd-Webhook-Id": headers["Creditd-Webhook-Id"]}, body)
        # The helper that signs for tests agrees with the server's header.
        t = int(headers["Creditd-Webhook-Timestamp"])
        assert creditd.sign(secret, msg["id"], t, body) == headers["Creditd-Signature"]
    finally:
        rx.shutdown()


def test_async_client_retries_with_the_same_key(server, org):
    import asyncio

    from creditd import AsyncClient

    p = loopback.proxy(server.url, ["drop", "503"])

    async def main():
        async with AsyncClient(loopback.url(p), server.key, backoff=0.01) as c:
            r = await c.grant_credits(org, kind="grant", amount=3)
            return r, await c.get_balance(org)

    try:
        r, balance = asyncio.run(main())
    finally:
        p.shutdown()
    assert r.balance.available == 3 and balance.available == 3
    posts = [s for s in p.seen if s["method"] == "POST"]
    assert len(posts) == 3 and len({s["key"] for s in posts}) == 1


def test_any_of_several_signatures_may_match():
    body = b'{"id":"whmsg_1","type":"depleted"}'
    good = creditd.sign("whsec_k", "whmsg_1", 1_700_000_000, body)
    t, v1 = good.split(",")
    headers = {"creditd-webhook-id": "whmsg_1", "creditd-signature": f"{t},v1=00ff,{v1}"}
    assert verify_webhook("whsec_k", headers, body, now=1_700_000_100)["type"] == "depleted"
    with pytest.raises(WebhookVerificationError):
        verify_webhook("whsec_k", {**headers, "creditd-signature": f"{t},v1=00ff"}, body, now=1_700_000_100)
    with pytest.raises(WebhookVerificationError):
        verify_webhook("whsec_k", {**headers, "creditd-webhook-id": "whmsg_2"}, body, now=1_700_000_100)
