"""Behaviour of three small pieces: HeartbeatMiddleware's 4408 close, the sync/async bridge,
and signal sending on Django versions without async signals."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, ClassVar

import pytest
from channels.db import database_sync_to_async
from django.dispatch import Signal

from tests.consumers.conftest import TIMEOUT, Connect
from wsroute_django import HeartbeatMiddleware, JSONWebSocket
from wsroute_django.bridge import bridged
from wsroute_django.signals import emit

closed_with: list[int] = []


class QuickHeartbeat(HeartbeatMiddleware):
    timeout: ClassVar[float] = 0.2

    async def on_disconnect(self, code: int) -> None:
        await super().on_disconnect(code)
        closed_with.append(code)


class Quiet(JSONWebSocket):
    middlewares = [QuickHeartbeat]

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}


async def test_a_silent_socket_is_closed_with_4408(connect: Connect) -> None:
    closed_with.clear()
    client = await connect(Quiet.as_asgi())
    assert await client.ask({"event": "ping"}) == {"event": "pong"}
    await client.expect_close(4408)  # nothing more was sent: the watcher closes it
    await client.disconnect(4408)
    assert closed_with == [4408]


async def test_the_watcher_stops_when_the_client_leaves_first(connect: Connect) -> None:
    closed_with.clear()
    client = await connect(Quiet.as_asgi())
    await client.disconnect(1000)
    tasks = [task for task in asyncio.all_tasks() if task.get_name() == "wsroute-idle-watch" and not task.done()]
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), TIMEOUT)
    assert closed_with == [1000]
    assert all(task.cancelled() for task in tasks)


# --- the bridge -------------------------------------------------------------------------------


class Bridged:
    def __init__(self) -> None:
        self.threads: list[int] = []

    @bridged
    async def double(self, n: int) -> int:
        self.threads.append(threading.get_ident())
        return 2 * n


async def test_a_bridged_method_on_the_loop_is_a_coroutine() -> None:
    target = Bridged()
    call = target.double(4)
    assert asyncio.iscoroutine(call)
    assert await call == 8
    assert target.threads == [threading.get_ident()]


async def test_a_bridged_method_from_a_sync_handler_runs_on_the_loop_without_await() -> None:
    target = Bridged()
    loop_thread = threading.get_ident()

    def sync_handler() -> Any:
        assert threading.get_ident() != loop_thread
        return target.double(21)  # no await: it has already run

    done = await database_sync_to_async(sync_handler)()
    assert target.threads == [loop_thread]  # ran on the consumer's loop, not in the worker
    assert await done == 42  # and what it returns can still be awaited


# --- signals without Django's async API (Django 4.2) -------------------------------------------


class SyncOnlySignal(Signal):
    """A Signal as Django 4.2 has it: no ``asend_robust``."""

    def __getattribute__(self, name: str) -> Any:
        if name == "asend_robust":
            raise AttributeError(name)
        return super().__getattribute__(name)


async def test_emit_falls_back_to_send_robust_and_logs_a_raising_receiver(caplog: pytest.LogCaptureFixture) -> None:
    signal = SyncOnlySignal()
    heard: list[str] = []

    def ok(sender: Any, **kwargs: Any) -> None:
        heard.append(kwargs["word"])

    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    signal.connect(broken, weak=False)
    signal.connect(ok, weak=False)
    assert not hasattr(signal, "asend_robust")
    with caplog.at_level(logging.ERROR, logger="wsroute"):
        await emit(signal, Bridged, word="hello")
    assert heard == ["hello"]
    assert [r.exc_info[1].args for r in caplog.records if r.name == "wsroute" and r.exc_info] == [("receiver bug",)]
