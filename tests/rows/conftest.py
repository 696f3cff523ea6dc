"""Fixtures for the Socket-row tests: real channel layer, real database, real sessions.

Every test here runs on whatever backends ``tests/settings.py`` picks (SQLite and the
in-memory layer by default, PostgreSQL and channels-redis in CI), so nothing below may
depend on one of them.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from asgiref.typing import ASGIApplication
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db.backends.utils import CursorWrapper

from wsroute_django import presence
from wsroute_django.consumer import SocketConsumer
from wsroute_django.models import Socket

#: upper bound for one step of a conversation with a consumer (not a timing assertion)
TIMEOUT = 5.0
#: upper bound for a consumer to stop after a disconnect. On channels-redis it can take 5 s
#: or never finish: on Python 3.11, redis-py 8 loses a cancellation that lands while it sends
#: a command (its asyncio.wait_for send timeout), so the consumer's pending layer receive
#: sits out the 5 s BZPOPMIN and blocks again; WebsocketCommunicator.wait then cancels it.
#: The row and the heartbeat are released before that point, so the tests are unaffected.
DISCONNECT_TIMEOUT = 8.0

User = get_user_model()


# -- queries from every thread --------------------------------------------------------------


class QueryLog:
    """SQL run by any connection in any thread while ``capture()`` is open.

    ``CaptureQueriesContext(connection)`` only sees the calling thread's connection, and
    cannot even be entered on the event loop; sync handlers and Socket-row writes run in
    worker threads, each with its own connection. So the fixture wraps the one method every
    Django cursor runs its ``execute_wrappers`` through, for all connections at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[list[str]] = []

    def record(self, sql: str) -> None:
        with self._lock:
            for captured in self._active:
                captured.append(sql)

    @contextmanager
    def capture(self) -> Iterator[list[str]]:
        captured: list[str] = []
        with self._lock:
            self._active.append(captured)
        try:
            yield captured
        finally:
            with self._lock:
                self._active.remove(captured)


@pytest.fixture
def query_log(monkeypatch: pytest.MonkeyPatch) -> QueryLog:
    log = QueryLog()
    original = CursorWrapper._execute_with_wrappers  # type: ignore[attr-defined]  # private, not in the stubs

    def execute_with_wrappers(self: CursorWrapper, sql: str, params: Any, many: bool, executor: Any) -> Any:
        log.record(sql)
        return original(self, sql, params, many, executor)

    monkeypatch.setattr(CursorWrapper, "_execute_with_wrappers", execute_with_wrappers)
    return log


# -- sockets --------------------------------------------------------------------------------


class Sockets:
    """Opens communicators against a consumer and disconnects whatever a test leaves open."""

    def __init__(self) -> None:
        self.open: list[WebsocketCommunicator] = []

    async def connect(
        self,
        app: type[SocketConsumer] | ASGIApplication,
        path: str = "/chat/",
        *,
        user: Any = None,
        session: Any = None,
        client: tuple[str, int] | None = None,
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> WebsocketCommunicator:
        if isinstance(app, type) and issubclass(app, SocketConsumer):
            app = app.as_asgi()
        communicator = WebsocketCommunicator(app, path, headers=list(headers))
        if user is not None:
            communicator.scope["user"] = user
        if session is not None:
            communicator.scope["session"] = session
        if client is not None:
            communicator.scope["client"] = client
        connected, detail = await communicator.connect(timeout=TIMEOUT)
        assert connected, f"socket refused: {detail}"
        self.open.append(communicator)
        return communicator

    async def disconnect(self, communicator: WebsocketCommunicator, code: int = 1000) -> None:
        self.open.remove(communicator)
        await communicator.disconnect(code, timeout=DISCONNECT_TIMEOUT)

    async def close_all(self) -> None:
        while self.open:
            await self.disconnect(self.open[-1])


@pytest.fixture
async def sockets() -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.fixture(autouse=True)
async def heartbeat_released() -> AsyncIterator[None]:
    """Every persisted socket a test opens must give the process heartbeat back."""
    yield
    heartbeat = presence.heartbeat
    leaked = heartbeat.sockets
    if heartbeat.task is not None:  # do not let a leak spill into the next test
        heartbeat.task.cancel()
        heartbeat.task = None
    heartbeat.sockets = 0
    assert leaked == 0, f"{leaked} persisted socket(s) still hold the heartbeat after the test"


# -- data -----------------------------------------------------------------------------------


@pytest.fixture
def layer() -> Any:
    """The channel layer from settings (in-memory or Redis), never a stand-in."""
    channel_layer = get_channel_layer()
    assert channel_layer is not None
    return channel_layer


@pytest.fixture
def room() -> str:
    """A group name no other test (or concurrent run on a shared Redis) uses."""
    return f"room-{uuid.uuid4().hex[:12]}"


async def make_user(username: str) -> Any:
    return await database_sync_to_async(User.objects.create_user)(username=username)  # no password: no slow hashing


@pytest.fixture
async def alice() -> Any:
    return await make_user("alice")


@pytest.fixture
async def bob() -> Any:
    return await make_user("bob")


async def rows(**filters: Any) -> list[Socket]:
    """The Socket rows matching ``filters``, read from the database."""
    return [row async for row in Socket.objects.filter(**filters).order_by("pk")]


async def only_row(**filters: Any) -> Socket:
    found = await rows(**filters)
    assert len(found) == 1, f"expected one Socket row for {filters}, found {found}"
    return found[0]


async def eventually(
    predicate: Callable[[], Awaitable[bool]], what: str, *, deadline: float = 10.0, step: float = 0.02
) -> None:
    """Poll ``predicate`` until it holds, failing after ``deadline`` seconds.

    Only for behaviour driven by a background timer (the heartbeat), where there is no
    message to wait for instead.
    """
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    while not await predicate():
        if loop.time() > give_up:
            pytest.fail(f"gave up after {deadline}s waiting until {what}")
        await asyncio.sleep(step)
