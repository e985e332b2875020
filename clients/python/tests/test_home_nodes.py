"""Several nodes: an organisation's writes go to the node an answer names as
its home (`Creditd-Home-Node`), only if the caller listed it, and back to
the base URL when it fails. Node B here is a proxy in front of the live
server that names the server as the home, as a node that forwarded a write
does."""

from __future__ import annotations

import asyncio
import socket

from creditd import AsyncClient, Client
from creditd import _wire

import loopback


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _writes(p):
    return [s for s in p.seen if s["method"] != "GET"]


def test_writes_go_to_the_named_home_once_learnt(server, org):
    b = loopback.proxy(server.url, [], home=server.url + "/")
    try:
        with Client(loopback.url(b), server.key, nodes=[server.url]) as c:
            for _ in range(10):
                c.grant_credits(org, kind="grant", amount=1)
            # Reads stay on the base URL.
            assert c.get_balance(org).available == 10
        assert len(_writes(b)) == 1, b.seen  # only the first write went through node B
        assert len([s for s in b.seen if s["method"] == "GET"]) == 1

        # A client that does not list the home never follows the hint.
        with Client(loopback.url(b), server.key) as plain:
            for _ in range(3):
                plain.grant_credits(org, kind="grant", amount=1)
        assert len(_writes(b)) == 4, b.seen
    finally:
        b.shutdown()


def test_a_home_that_is_not_listed_or_fails_is_left(server, org):
    # Node B names a host the caller did not list: never followed.
    b = loopback.proxy(server.url, [], home="http://203.0.113.9:8080/")
    try:
        with Client(loopback.url(b), server.key, nodes=[server.url]) as c:
            for _ in range(3):
                c.grant_credits(org, kind="grant", amount=1)
        assert len(_writes(b)) == 3
    finally:
        b.shutdown()

    # Node B names a listed node that is down: the write goes back to B
    # (the request never left), is applied once, and the home is forgotten.
    dead = f"http://127.0.0.1:{_free_port()}"
    b = loopback.proxy(server.url, [], home=dead)
    try:
        with Client(loopback.url(b), server.key, nodes=[dead], backoff=0.01) as c:
            for _ in range(4):
                c.grant_credits(org, kind="grant", amount=1)
            assert c.get_balance(org).available == 7
            assert len(c._homes) == 1  # learnt again from the last answer
        # Each write after the first went to the dead home, then to B.
        assert len(_writes(b)) == 4, b.seen
        keys = [s["key"] for s in _writes(b)]
        assert len(set(keys)) == 4
    finally:
        b.shutdown()


def test_the_async_client_follows_homes_too(server, org):
    b = loopback.proxy(server.url, [], home=server.url)

    async def run():
        async with AsyncClient(loopback.url(b), server.key, nodes=[server.url + "/"]) as c:
            for _ in range(5):
                await c.grant_credits(org, kind="grant", amount=2)
            return (await c.get_balance(org)).available

    try:
        assert asyncio.run(run()) == 10
        assert len(_writes(b)) == 1, b.seen
    finally:
        b.shutdown()


def test_homes_are_bounded_and_only_for_writes_under_an_org():
    h = _wire.Homes(["http://10.0.0.1:8080/"])
    h.learn("o", "http://10.0.0.1:8080")
    assert h.of("o") == "http://10.0.0.1:8080"
    h.learn("o", "http://10.0.0.1:9090/")
    assert h.of("o") is None
    for i in range(_wire.MAX_REMEMBERED_HOMES + 1):
        h.learn(f"org-{i}", "http://10.0.0.1:8080/")
    assert len(h) == 1
    from creditd._operations import OPERATIONS as ops
    assert _wire.org_of_write(ops["recordUsage"], {"org_id": "a"}) == "a"
    assert _wire.org_of_write(ops["getBalance"], {"org_id": "a"}) is None
    assert _wire.org_of_write(ops["createOrganization"], {}) is None
    try:
        Client("http://127.0.0.1:1", "k" * 20, nodes=["ftp://x"])
        raise AssertionError("a non-http node was taken")
    except ValueError:
        pass
