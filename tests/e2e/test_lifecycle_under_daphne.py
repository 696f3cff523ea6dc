"""The connection lifecycle under a real daphne: a failing connect hook and a consumer the
server cancels both leave nothing behind, and their disconnect side runs."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from websockets.asyncio.client import connect

from tests.e2e.support import Cluster, Server, close_code, wait_for

pytestmark = pytest.mark.e2e


async def nothing_left(cluster: Cluster, server: Server, group: str, within: float) -> None:
    async def gone() -> bool:
        return not await cluster.db.rows_of(server) and await cluster.db.membership_count() == 0

    await wait_for(gone, within=within, what=f"daphne {server.name}'s rows and memberships to go")
    assert await cluster.layer_group_size(group) in (None, 0)  # None: the in-memory layer


async def test_a_failing_connect_hook_closes_with_4500_and_runs_the_disconnect_side(cluster: Cluster) -> None:
    server = await cluster.start("A")
    ws = await cluster.connect(server, "/failing/")  # accepted first, so the browser sees the code
    assert await close_code(ws) == 4500  # daphne refuses to send 1011: it must be 3000-4999
    await nothing_left(cluster, server, "failing", within=10)

    async def hooks_ran() -> bool:
        log = server.log()
        return "on_disconnect ran on /failing/" in log and "middleware on_disconnect ran on /failing/" in log

    await wait_for(hooks_ran, within=10, what="the disconnect hook and middleware on_disconnect")
    assert "RuntimeError: the connect hook failed" in server.log()  # logged with its traceback
    assert "invalid close code" not in server.log()


async def test_a_consumer_cancelled_mid_handshake_leaves_no_row(cluster: Cluster) -> None:
    server = await cluster.start("A")
    # The client gives up while the connect hook still runs; daphne cancels the consumer 10 s
    # later (its application close timeout). The row was written before the hook ran.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1.0):
            async with connect(server.url("/slow-connect/"), open_timeout=None):
                raise AssertionError("the handshake cannot complete while the hook sleeps")

    async def row_written() -> bool:
        return [row.path for row in await cluster.db.rows_of(server)] == ["/slow-connect/"]

    await wait_for(row_written, within=10, what="the slow consumer's row")
    await nothing_left(cluster, server, "slow", within=25)

    async def hooks_ran() -> bool:
        return "on_disconnect ran on /slow-connect/" in server.log()

    await wait_for(hooks_ran, within=10, what="the disconnect hook of the cancelled consumer")
    assert "middleware on_disconnect ran on /slow-connect/" in server.log()
