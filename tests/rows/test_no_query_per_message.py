"""Liveness is kept per process, never per message: frames on a persisted socket run no SQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rows.conftest import TIMEOUT, QueryLog, Sockets
from wsroute_django import JSONWebSocket, RoutedSocketHandler

pytestmark = pytest.mark.django_db(transaction=True)

FRAMES = 25


class Echo(JSONWebSocket):
    persist = True

    async def on_echo(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "echoed", "n": event["n"]}


class Pinged(RoutedSocketHandler):
    persist = True  # the built-in PING -> PONG route


async def test_the_query_log_sees_row_writes_from_worker_threads(
    sockets: Sockets, query_log: QueryLog, alice: Any
) -> None:
    with query_log.capture() as connect_queries:
        communicator = await sockets.connect(Echo, user=alice)
    with query_log.capture() as disconnect_queries:
        await sockets.disconnect(communicator)

    assert any(sql.startswith("INSERT") and "wsroute_socket" in sql for sql in connect_queries), connect_queries
    assert any(sql.startswith("DELETE") and "wsroute_socket" in sql for sql in disconnect_queries), disconnect_queries


async def test_frames_on_a_persisted_socket_run_no_query(sockets: Sockets, query_log: QueryLog, alice: Any) -> None:
    communicator = await sockets.connect(Echo, user=alice)

    with query_log.capture() as queries:
        for n in range(FRAMES):
            await communicator.send_json_to({"event": "echo", "n": n})
        replies = [await communicator.receive_json_from(timeout=TIMEOUT) for _ in range(FRAMES)]

    assert replies == [{"event": "echoed", "n": n} for n in range(FRAMES)]
    assert queries == []


async def test_client_heartbeat_frames_run_no_query(sockets: Sockets, query_log: QueryLog, alice: Any) -> None:
    communicator = await sockets.connect(Pinged, user=alice)

    with query_log.capture() as queries:
        for _ in range(FRAMES):
            await communicator.send_json_to({"type": "PING"})
        replies = [await communicator.receive_json_from(timeout=TIMEOUT) for _ in range(FRAMES)]

    assert {reply["type"] for reply in replies} == {"PONG"}
    assert queries == []
