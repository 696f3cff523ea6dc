"""A server process dies with ``kill -9``: its Socket rows are swept by a survivor or by the prune command."""

from __future__ import annotations

import pytest

from tests.e2e.support import Cluster, request, wait_for

pytestmark = pytest.mark.e2e

#: short liveness so a dead process's rows go stale quickly
FAST_HEARTBEAT = {"E2E_HEARTBEAT": "0.2", "E2E_STALE": "1.0"}


async def test_crash_recovery(cluster: Cluster) -> None:
    a = await cluster.start("A", **FAST_HEARTBEAT)
    b = await cluster.start("B", **FAST_HEARTBEAT)
    lobby_on_a = [await cluster.connect(a, "/lobby/") for _ in range(3)]
    chat_on_a = await cluster.connect(a, "/chat/crash/")
    on_b = await cluster.connect(b, "/lobby/")
    for ws in [*lobby_on_a, on_b]:
        assert (await request(ws, {"type": "PING"}))["type"] == "PONG"
    assert (await request(chat_on_a, {"event": "whoami"}))["pid"] == a.pid
    # rows are written before the handshake is accepted
    rows_a = await cluster.db.rows_of(a)
    assert sorted(row.path for row in rows_a) == ["/chat/crash/", "/lobby/", "/lobby/", "/lobby/"]
    assert [row.groups for row in rows_a if row.groups] == [("chat.crash",)]
    assert [row.path for row in await cluster.db.rows_of(b)] == ["/lobby/"]
    assert await cluster.layer_group_size("chat.crash") in (None, 1)  # None: the in-memory layer

    a.kill()

    async def a_swept_while_b_serves() -> bool:
        reply = await request(on_b, {"type": "PING"})
        assert reply["type"] == "PONG", reply
        return not await cluster.db.rows_of(a)

    await wait_for(a_swept_while_b_serves, within=15, interval=0.1, what="B's sweep to remove A's rows")
    assert await cluster.db.membership_count() == 0  # A's group memberships went with its rows
    assert await cluster.layer_group_size("chat.crash") in (None, 0)  # and B took A's channel out of the group
    assert [row.path for row in await cluster.db.rows_of(b)] == ["/lobby/"]  # B keeps its own row fresh
    assert (await request(on_b, {"type": "PING"}))["type"] == "PONG"


async def test_prune_command_after_the_only_server_dies(cluster: Cluster) -> None:
    a = await cluster.start("A", **FAST_HEARTBEAT)
    for path in ("/lobby/", "/lobby/", "/chat/alone/"):
        ws = await cluster.connect(a, path)
        assert await request(ws, {"type": "PING"} if path == "/lobby/" else {"event": "whoami"})
    assert len(await cluster.db.rows_of(a)) == 3
    # a live server refreshes its rows every 0.2 s: a prune leaves them alone
    assert await cluster.django("wsroute_prune", "--stale-after", "3") == "pruned 0 stale socket(s)"
    assert len(await cluster.db.rows_of(a)) == 3

    a.kill()  # nobody is left to sweep
    outputs: list[str] = []

    async def pruned_by_command() -> bool:
        outputs.append(await cluster.django("wsroute_prune", "--stale-after", "0.5"))
        return not await cluster.db.arows()

    await wait_for(pruned_by_command, within=20, interval=0.1, what="wsroute_prune to remove A's rows")
    assert "pruned 3 stale socket(s)" in outputs
    assert await cluster.db.membership_count() == 0
