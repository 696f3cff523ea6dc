"""Two daphne processes sharing Redis and PostgreSQL: groups, per-user sends and closes cross processes."""

from __future__ import annotations

import json

import pytest

from tests.e2e.support import Cluster, close_code, receive, request, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.postgres]


async def test_two_processes_share_redis(cluster: Cluster) -> None:
    a = await cluster.start("A")
    b = await cluster.start("B")
    # logged in through Django's session cookie, which AuthMiddlewareStack reads from the handshake
    alice = await cluster.django("e2e", "login", "alice")
    bob = await cluster.django("e2e", "login", "bob")

    alice_on_a = await cluster.connect(a, "/chat/lounge/", alice)
    alice_on_b = await cluster.connect(b, "/chat/lounge/", alice)
    alice_lobby_on_b = await cluster.connect(b, "/lobby/", alice)  # the decorator style
    bob_on_b = await cluster.connect(b, "/chat/lounge/", bob)
    chat = [alice_on_a, alice_on_b, bob_on_b]
    alices = [alice_on_a, alice_on_b, alice_lobby_on_b]
    assert await request(alice_on_a, {"event": "whoami"}) == {"event": "whoami", "user": "alice", "pid": a.pid}
    assert await request(alice_on_b, {"event": "whoami"}) == {"event": "whoami", "user": "alice", "pid": b.pid}
    assert await request(alice_lobby_on_b, {"type": "WHOAMI"}) == {"type": "WHOAMI", "user": "alice", "pid": b.pid}
    assert await request(bob_on_b, {"event": "whoami"}) == {"event": "whoami", "user": "bob", "pid": b.pid}
    placed = sorted((row.user, row.pid, row.path, row.groups) for row in await cluster.db.arows())
    assert placed == sorted(
        [
            ("alice", a.pid, "/chat/lounge/", ("chat.lounge",)),
            ("alice", b.pid, "/chat/lounge/", ("chat.lounge",)),
            ("alice", b.pid, "/lobby/", ()),
            ("bob", b.pid, "/chat/lounge/", ("chat.lounge",)),
        ]
    )

    # group_send on A reaches the group's sockets on both processes
    await alice_on_a.send(json.dumps({"event": "say", "text": "hello from A"}))
    for ws in chat:
        assert await receive(ws) == {"event": "said", "text": "hello from A", "pid": a.pid}

    # a per-user send from outside the servers (a management command) reaches the user's
    # sockets on both processes, whatever their style, and nobody else's
    assert await cluster.django("e2e", "send", "alice", json.dumps({"event": "notice", "n": 1})) == "3"
    for ws in alices:
        assert await receive(ws) == {"event": "notice", "n": 1}
    assert await cluster.django("e2e", "send", "bob", json.dumps({"event": "notice", "n": 2})) == "1"
    assert await receive(bob_on_b) == {"event": "notice", "n": 2}  # the first frame bob sees since "said"

    # closing the user's sockets closes them on both processes, and their rows go
    assert await cluster.django("e2e", "close", "alice", "4000") == "3"
    for ws in alices:
        assert await close_code(ws) == 4000

    async def only_bob_left() -> bool:
        return [row.user for row in await cluster.db.arows()] == ["bob"]

    await wait_for(only_bob_left, within=15, what="alice's rows to go")
    assert await request(bob_on_b, {"event": "whoami"}) == {"event": "whoami", "user": "bob", "pid": b.pid}
