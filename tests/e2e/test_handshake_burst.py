"""WebSocket handshakes at once against one daphne with Socket rows: every one completes
within daphne's default handshake timeout (5 s), in both styles, and every row goes afterwards.

The suite opens 300 at once (``WSROUTE_BURST_SOCKETS``): enough to make every row share a
batch with others, small enough that a busy CI machine does not turn daphne's timeout into a
measurement of its own speed. The full-size run is by hand, on an otherwise idle machine::

    WSROUTE_BURST_SOCKETS=1000 python -m pytest tests/e2e/test_handshake_burst.py -s

daphne is started with its defaults (``--websocket_connect_timeout 5``): a handshake the server
does not finish in time is dropped by daphne itself, so a slow row write shows up here as a
failed connection. The servers get a database of their own (``wsroute_e2e_burst_<database>`` on PostgreSQL,
a SQLite file otherwise), so that concurrent end-to-end runs do not see these rows.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.support import Cluster, Database, migrated_database, receive, wait_for

pytestmark = pytest.mark.e2e

SOCKETS = int(os.environ.get("WSROUTE_BURST_SOCKETS", "300"))
#: daphne's default --websocket_connect_timeout
DAPHNE_HANDSHAKE_TIMEOUT = 5.0
#: the client's own limit: long enough to see daphne's verdict (the TCP backlog may hold some SYNs)
CLIENT_OPEN_TIMEOUT = 30.0
PG_DATABASE = "wsroute_e2e_burst"


@pytest.fixture(scope="module")
def burst_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Database]:
    return migrated_database(tmp_path_factory, PG_DATABASE)


@pytest.fixture
async def burst_cluster(burst_env: tuple[dict[str, str], Database], tmp_path: Path) -> AsyncIterator[Cluster]:
    env, db = burst_env
    db.reset()
    cluster = Cluster(
        env={**env, "E2E_REDIS_PREFIX": f"wsroute-burst-{uuid.uuid4().hex[:12]}"}, db=db, workdir=tmp_path
    )
    try:
        yield cluster
    finally:
        await cluster.close()


async def timed_connect(url: str) -> tuple[ClientConnection | BaseException, float]:
    start = time.monotonic()
    try:
        ws = await connect(url, open_timeout=CLIENT_OPEN_TIMEOUT, close_timeout=5, ping_interval=None, compression=None)
    except Exception as exc:
        return exc, time.monotonic() - start
    return ws, time.monotonic() - start


async def count(db: Database) -> tuple[int, int]:
    """(Socket rows, memberships)."""
    rows = await db.arows()
    return len(rows), sum(len(row.groups) for row in rows)


@pytest.mark.parametrize(
    ("style", "path", "groups"),
    [("decorator", "/lobby/", 0), ("subclass", "/chat/burst/", 1)],
)
async def test_a_burst_of_handshakes_all_complete(burst_cluster: Cluster, style: str, path: str, groups: int) -> None:
    server = await burst_cluster.start("burst")
    started = time.monotonic()
    results = await asyncio.gather(*(timed_connect(server.url(path)) for _ in range(SOCKETS)))
    burst_s = time.monotonic() - started
    opened = [ws for ws, _ in results if isinstance(ws, ClientConnection)]
    burst_cluster.sockets.extend(opened)
    failed = [f"{type(ws).__name__}: {ws}" for ws, _ in results if not isinstance(ws, ClientConnection)]
    times = sorted(seconds for _, seconds in results)
    print(
        f"\n{style} ({path}): {len(opened)}/{SOCKETS} handshakes in {burst_s:.2f} s; per handshake "
        f"p50 {statistics.median(times):.2f} s, p99 {times[int(0.99 * len(times)) - 1]:.2f} s, max {times[-1]:.2f} s"
    )
    assert not failed, f"{len(failed)} handshakes failed, e.g. {failed[:3]}\n{server.log()[-3000:]}"
    assert burst_s < 30, f"the burst took {burst_s:.1f} s"

    # every socket has its row (and membership) when it was accepted, and answers
    assert await count(burst_cluster.db) == (SOCKETS, SOCKETS * groups)
    kind, question = ("type", "WHOAMI") if style == "decorator" else ("event", "whoami")
    for ws in opened[:: SOCKETS // 20]:
        await ws.send(f'{{"{kind}": "{question}"}}')
        assert (await receive(ws))[kind] == question

    await asyncio.gather(*(ws.close() for ws in opened))
    burst_cluster.sockets.clear()

    async def drained() -> bool:
        return await count(burst_cluster.db) == (0, 0)

    await wait_for(drained, within=20, what="every row and membership to be deleted")
    assert "Traceback" not in server.log(), server.log()[-3000:]
