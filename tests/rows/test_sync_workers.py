"""Sync handlers on a bounded pool (``wsroute_django.workers``): they run in the pool's threads,
several at once, each socket's frames still in order, with the ORM, context variables and the
bridged consumer API working as in asgiref's shared thread."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

import wsroute_django.consumer as consumer_module
from tests.rows.conftest import TIMEOUT, Sockets
from wsroute_django import JSONWebSocket, workers

pytestmark = pytest.mark.django_db(transaction=True)

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID", default="unset")


@pytest.fixture(autouse=True)
async def _close_pool_connections() -> AsyncIterator[None]:
    """The pool threads keep their database connections, as asgiref's thread does (see
    tests/conftest.py); PostgreSQL would not drop the test database with them open."""
    yield
    await asyncio.to_thread(workers.close_pool_connections)


def pooled_consumer(monkeypatch: pytest.MonkeyPatch, runner: workers.SyncWorkers) -> type[JSONWebSocket]:
    """A consumer whose sync handlers run on ``runner``'s pool, as with ``WSROUTE["SYNC_WORKERS"]``."""
    # workers.run_sync reads the setting per call (stood in for here: conf.py may not know the key)
    monkeypatch.setattr(workers, "get_settings", lambda: SimpleNamespace(SYNC_WORKERS=runner.max_workers))
    # Until SocketConsumer passes workers.run_sync to its Dispatcher, it passes this name.
    legacy = hasattr(consumer_module, "database_sync_to_async")
    if legacy:
        monkeypatch.setattr(consumer_module, "database_sync_to_async", runner)

    class Pooled(JSONWebSocket):
        rate_limit = None
        running = 0
        most = 0
        lock = threading.Lock()

        def on_work(self, event: dict[str, Any]) -> dict[str, Any]:
            cls = type(self)
            with cls.lock:
                cls.running += 1
                cls.most = max(cls.most, cls.running)
            try:
                time.sleep(event.get("sleep", 0))
                users = get_user_model().objects.count()  # the ORM works in a pool thread
            finally:
                with cls.lock:
                    cls.running -= 1
            return {"event": "done", "n": event["n"], "thread": threading.current_thread().name, "users": users}

        def on_push(self, event: dict[str, Any]) -> None:
            self.send_json({"event": "pushed", "request": REQUEST_ID.get()})  # bridged back to the loop

    if legacy:
        monkeypatch.setattr(consumer_module, "database_sync_to_async", database_sync_to_async)
    return Pooled


async def test_handlers_of_different_sockets_run_at_once_in_the_pool(
    sockets: Sockets, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = pooled_consumer(monkeypatch, workers.SyncWorkers(4))
    opened = await asyncio.gather(*(sockets.connect(app) for _ in range(8)))
    for n, communicator in enumerate(opened):
        await communicator.send_json_to({"event": "work", "n": n, "sleep": 0.2})
    replies = [await communicator.receive_json_from(timeout=TIMEOUT) for communicator in opened]

    assert [reply["n"] for reply in replies] == list(range(8))
    assert all(reply["thread"].startswith("wsroute-sync-4") for reply in replies)
    assert 2 <= app.most <= 4  # bounded by the pool


async def test_one_sockets_frames_are_handled_in_order(sockets: Sockets, monkeypatch: pytest.MonkeyPatch) -> None:
    app = pooled_consumer(monkeypatch, workers.SyncWorkers(4))
    communicator = await sockets.connect(app)
    for n in range(20):
        await communicator.send_json_to({"event": "work", "n": n, "sleep": 0.01 * (n % 3)})
    replies = [await communicator.receive_json_from(timeout=TIMEOUT) for _ in range(20)]
    assert [reply["n"] for reply in replies] == list(range(20))
    assert app.most == 1  # a socket awaits each handler before it reads its next frame


async def test_context_variables_and_the_bridged_api_reach_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []

    def handler() -> str:
        seen.append((REQUEST_ID.get(), threading.current_thread().name))
        return "ok"

    run = workers.SyncWorkers(2)(handler)
    token = REQUEST_ID.set("r-1")
    try:
        assert await run() == "ok"
    finally:
        REQUEST_ID.reset(token)
    assert seen == [("r-1", seen[0][1])]
    assert seen[0][1].startswith("wsroute-sync-2")


async def test_a_sync_handler_sends_through_the_bridge(sockets: Sockets, monkeypatch: pytest.MonkeyPatch) -> None:
    app = pooled_consumer(monkeypatch, workers.SyncWorkers(2))
    communicator = await sockets.connect(app)
    await communicator.send_json_to({"event": "push"})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"event": "pushed", "request": "unset"}


async def test_run_sync_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    def where() -> str:
        return threading.current_thread().name

    run = workers.run_sync(where)
    monkeypatch.setattr(workers, "get_settings", lambda: SimpleNamespace(SYNC_WORKERS=None))
    assert not (await run()).startswith("wsroute-sync")  # None: asgiref's shared thread
    monkeypatch.setattr(workers, "get_settings", lambda: SimpleNamespace(SYNC_WORKERS=3))
    assert (await run()).startswith("wsroute-sync-3")


def test_pool_size_must_be_a_positive_int() -> None:
    for bad in (0, -1, True, 2.0, "4"):
        with pytest.raises(ValueError, match="positive int"):
            workers.SyncWorkers(bad)  # type: ignore[arg-type]
    assert repr(workers.SyncWorkers(8)) == "SyncWorkers(8)"
