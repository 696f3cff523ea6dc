"""Cancellation and crashing hooks: a connection leaves nothing behind, however it ends.

Servers cancel consumer tasks (daphne does, for a client that left mid-handshake, and on
shutdown). Here a consumer runs as a server runs it, a task with an ASGI receive/send pair the
test controls (``Harness``), and is cancelled: in an async connect hook that sleeps, in a
handler, or while its ``Socket`` row is being written. Afterwards there must be no row for its
channel, ``rows.liveness.sockets`` must be back where it was, its groups must be left, and the
disconnect hook and the middleware ``on_disconnect`` must have run for every socket whose connect
hook ran (and the disconnect hook for no other).
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.db.models.signals import pre_save
from django.test import override_settings
from django.views import View

from tests.adversarial.conftest import CLOSE_INTERNAL_ERROR, TIMEOUT, Client, Connect
from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketMiddleware, SocketRouter
from wsroute_django.consumer import SocketConsumer
from wsroute_django.memory_layer import MemoryChannelLayer
from wsroute_django.models import Socket
from wsroute_django.rows import liveness

#: the in-memory layers whose group table tests may read (Channels' and wsroute's)
IN_MEMORY_LAYERS = (InMemoryChannelLayer, MemoryChannelLayer)

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "connect-hook-secret-do-not-send"

#: how long a cancelled or disconnected consumer may take to finish. docs/deploying.md: on
#: Python 3.11 a consumer whose channels-redis receive is in flight "may take up to
#: socket_timeout to finish" (10 s in tests/settings.py); in practice one BZPOPMIN, 5 s.
FINISH_WITHIN = 12.0

#: path -> what happened to that socket, in order: connect, disconnect, mw-connect, mw-disconnect
EVENTS: dict[str, list[str]] = {}
#: path -> the channel name its connect hook saw
CHANNELS: dict[str, str] = {}
#: path -> set once the socket is inside a slow hook or handler
_STARTED: dict[str, asyncio.Event] = {}


def record(path: str, what: str) -> None:
    EVENTS.setdefault(path, []).append(what)


def started(path: str) -> asyncio.Event:
    return _STARTED.setdefault(path, asyncio.Event())


def group_of(path: str) -> str:
    """The group a socket joins in its connect hook: one of its own."""
    return "adv-" + path.strip("/").replace("/", "-")[-90:]


class Tracking(SocketMiddleware):
    async def on_connect(self) -> None:
        record(self.scope["path"], "mw-connect")

    def on_disconnect(self, code: int) -> None:
        record(self.scope["path"], "mw-disconnect")


# What a socket does is chosen by words in its path: slow-connect, raise-connect, slow-disconnect.


async def connect_hook(socket: SocketConsumer) -> None:
    path = socket.path
    record(path, "connect")
    CHANNELS[path] = socket.channel_name
    await socket.group_add(group_of(path))
    if "raise-connect" in path:
        raise RuntimeError(SECRET)
    if "slow-connect" in path:
        started(path).set()
        await asyncio.sleep(60)


async def disconnect_hook(socket: SocketConsumer, code: int) -> None:
    record(socket.path, "disconnect")
    if "slow-disconnect" in socket.path:
        started(socket.path + "#disconnect").set()
        await asyncio.sleep(0.3)


async def slow_handler(socket: SocketConsumer, content: dict[str, Any]) -> None:
    started(socket.path).set()
    await asyncio.sleep(60)


# -- decorator style ------------------------------------------------------------------------------------


class Persisted(RoutedSocketHandler):
    persist = True
    rate_limit = None
    middlewares = [Tracking]


class Page(View):
    socket = SocketRouter(handler=Persisted)
    socket.connect(connect_hook)
    socket.disconnect(disconnect_hook)
    socket.route("slow")(slow_handler)


# -- subclass style ---------------------------------------------------------------------------------------


class Events(JSONWebSocket):
    persist = True
    rate_limit = None
    middlewares = [Tracking]

    async def on_connect(self) -> None:
        await connect_hook(self)

    async def on_disconnect(self, code: int) -> None:
        await disconnect_hook(self, code)

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}

    async def on_slow(self, event: dict[str, Any]) -> None:
        await slow_handler(self, event)


@dataclass(frozen=True)
class CancelStyle:
    name: str
    key: str
    ping: str
    app: Any


CANCEL_STYLES = {
    "decorator": CancelStyle("decorator", "type", "PING", Page.socket.as_asgi()),
    "subclass": CancelStyle("subclass", "event", "ping", Events.as_asgi()),
}


@pytest.fixture(params=list(CANCEL_STYLES))
def style(request: pytest.FixtureRequest) -> CancelStyle:
    return CANCEL_STYLES[request.param]


def new_path(*words: str) -> str:
    return "/ws/" + "/".join((*words, uuid.uuid4().hex[:12])) + "/"


# -- a server we control ---------------------------------------------------------------------------------------


class Harness:
    """A consumer run as an ASGI server runs it: a task reading ``inbox`` and writing ``outbox``."""

    def __init__(self, app: Any, path: str) -> None:
        self.path = path
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        scope = {
            "type": "websocket",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [],
            "subprotocols": [],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self.task: asyncio.Future[None] = asyncio.ensure_future(app(scope, self.inbox.get, self.outbox.put))

    async def output(self) -> dict[str, Any]:
        async with asyncio.timeout(TIMEOUT):
            return await self.outbox.get()

    async def open(self) -> None:
        await self.inbox.put({"type": "websocket.connect"})

    async def send(self, frame: dict[str, Any]) -> None:
        await self.inbox.put({"type": "websocket.receive", "text": json.dumps(frame)})

    async def cancel(self) -> None:
        """Cancel the consumer, as a server does; it must finish within ``FINISH_WITHIN``."""
        self.task.cancel()
        await self.finished()

    async def finished(self) -> None:
        done, _ = await asyncio.wait({self.task}, timeout=FINISH_WITHIN)
        assert done, f"the consumer on {self.path} had not finished {FINISH_WITHIN}s after being cancelled"


async def until(event: asyncio.Event, what: str) -> None:
    try:
        async with asyncio.timeout(TIMEOUT):
            await event.wait()
    except TimeoutError:
        pytest.fail(f"gave up waiting until {what}")


async def group_members(layer: BaseChannelLayer, group: str) -> set[str]:
    """The channels in ``group``, read from the layer itself (in-memory or channels-redis)."""
    if isinstance(layer, IN_MEMORY_LAYERS):
        return set(layer.groups.get(group, {}))
    redis = layer.connection(layer.consistent_hash(group))
    members = await redis.zrange(layer._group_key(group), 0, -1)
    return {member.decode() for member in members}


@pytest.fixture
async def layer() -> AsyncIterator[BaseChannelLayer]:
    channel_layer = get_channel_layer()
    assert channel_layer is not None
    yield channel_layer


@pytest.fixture
def sockets_before() -> Iterator[int]:
    """``liveness.sockets`` before the test; the test must give back whatever it took."""
    EVENTS.clear()
    CHANNELS.clear()
    _STARTED.clear()
    before = liveness.sockets
    yield before
    if liveness.sockets != before:  # do not let a leak spill into later tests
        liveness.sockets = before
        if before == 0 and liveness.task is not None:
            liveness.task.cancel()
            liveness.task = None


async def assert_left_nothing(layer: BaseChannelLayer, paths: list[str], sockets_before: int) -> None:
    problems: list[str] = []
    for path in paths:
        events = EVENTS.get(path, [])
        if "connect" in events:
            for cleanup in ("disconnect", "mw-disconnect"):
                if cleanup not in events:
                    problems.append(f"{path}: connect hook ran but {cleanup} did not ({events})")
        elif "disconnect" in events:
            problems.append(f"{path}: disconnect hook ran without the connect hook ({events})")
        channel = CHANNELS.get(path)
        if channel is None:
            continue
        if await Socket.objects.filter(channel_name=channel).aexists():
            problems.append(f"{path}: its Socket row is still there")
        if channel in await group_members(layer, group_of(path)):
            problems.append(f"{path}: still in group {group_of(path)}")
    if liveness.sockets != sockets_before:
        problems.append(f"liveness.sockets is {liveness.sockets}, was {sockets_before}")
    assert not problems, "\n".join(problems)


# -- cancellation -------------------------------------------------------------------------------------------------


async def test_cancelled_in_an_async_connect_hook(
    style: CancelStyle, layer: BaseChannelLayer, sockets_before: int
) -> None:
    path = new_path("slow-connect")
    server = Harness(style.app, path)
    await server.open()
    await until(started(path), "the connect hook sleeps")
    assert CHANNELS[path] in await group_members(layer, group_of(path))
    assert await Socket.objects.filter(channel_name=CHANNELS[path]).aexists()

    await server.cancel()

    await assert_left_nothing(layer, [path], sockets_before)


async def test_cancelled_in_a_handler(layer: BaseChannelLayer, sockets_before: int) -> None:
    """Both styles at once (each may take the layer's 5 s to stop on channels-redis, see ``FINISH_WITHIN``)."""
    servers: list[Harness] = []
    for style in CANCEL_STYLES.values():
        path = new_path("handler", style.name)
        servers.append(Harness(style.app, path))
        await servers[-1].open()
        assert (await servers[-1].output())["type"] == "websocket.accept"
        await servers[-1].send({style.key: "slow"})
        await until(started(path), "the handler sleeps")

    for server in servers:
        server.task.cancel()
    for server in servers:
        await server.finished()

    await assert_left_nothing(layer, [server.path for server in servers], sockets_before)


@contextmanager
def row_writes_held() -> Iterator[tuple[threading.Event, threading.Event, list[str]]]:
    """Hold every ``Socket`` row write (in its worker thread) until ``release`` is set."""
    writing, release = threading.Event(), threading.Event()
    channels: list[str] = []

    def hold(sender: type[Socket], instance: Socket, **kwargs: Any) -> None:
        channels.append(instance.channel_name)
        writing.set()
        release.wait(TIMEOUT)

    pre_save.connect(hold, sender=Socket, weak=False, dispatch_uid="adversarial-hold-rows")
    try:
        yield writing, release, channels
    finally:
        release.set()
        pre_save.disconnect(sender=Socket, dispatch_uid="adversarial-hold-rows")


async def test_cancelled_while_the_row_is_written(
    style: CancelStyle, layer: BaseChannelLayer, sockets_before: int
) -> None:
    path = new_path("row")
    with row_writes_held() as (writing, release, channels):
        server = Harness(style.app, path)
        await server.open()
        assert await asyncio.to_thread(writing.wait, TIMEOUT), "the row write never started"
        server.task.cancel()
        await asyncio.sleep(0.05)  # the consumer is cancelled while the write is still held
        release.set()
        await server.finished()
    [CHANNELS[path]] = channels

    await assert_left_nothing(layer, [path], sockets_before)
    assert "connect" not in EVENTS.get(path, [])


async def test_cancelled_twice_the_cleanup_still_finishes(
    style: CancelStyle, layer: BaseChannelLayer, sockets_before: int
) -> None:
    """A second cancellation, while the disconnect hook runs, ends the task but not the cleanup."""
    path = new_path("slow-connect", "slow-disconnect")
    server = Harness(style.app, path)
    await server.open()
    await until(started(path), "the connect hook sleeps")
    server.task.cancel()
    await until(started(path + "#disconnect"), "the disconnect hook runs")
    await server.cancel()

    loop = asyncio.get_running_loop()
    give_up = loop.time() + TIMEOUT
    while (
        "mw-disconnect" not in EVENTS.get(path, [])
        or await Socket.objects.filter(channel_name=CHANNELS[path]).aexists()
    ):
        assert loop.time() < give_up, f"the cleanup did not finish: {EVENTS.get(path)}"
        await asyncio.sleep(0.02)
    await assert_left_nothing(layer, [path], sockets_before)


async def test_many_sockets_cancelled_at_once_in_every_phase(layer: BaseChannelLayer, sockets_before: int) -> None:
    """Server shutdown: sockets in connect hooks, in handlers, and idle, all cancelled together."""
    servers: list[Harness] = []
    for style in CANCEL_STYLES.values():
        for _ in range(2):
            path = new_path("slow-connect")
            servers.append(Harness(style.app, path))
            await servers[-1].open()
            await until(started(path), "a connect hook sleeps")
        for busy in (True, False):
            path = new_path("handler")
            servers.append(Harness(style.app, path))
            await servers[-1].open()
            assert (await servers[-1].output())["type"] == "websocket.accept"
            if busy:
                await servers[-1].send({style.key: "slow"})
                await until(started(path), "a handler sleeps")
    assert liveness.sockets == sockets_before + len(servers)

    for server in servers:
        server.task.cancel()
    for server in servers:
        await server.finished()

    await assert_left_nothing(layer, [server.path for server in servers], sockets_before)


# -- a connect hook that raises -------------------------------------------------------------------------------


async def test_a_connect_hook_that_raises_closes_with_4500_and_cleans_up(
    connect: Connect, style: CancelStyle, layer: BaseChannelLayer, sockets_before: int
) -> None:
    path = new_path("raise-connect")
    client = await connect(style.app, path)  # accepted first, so the browser sees the code
    output = await client.receive_output(TIMEOUT)
    assert output["type"] == "websocket.close" and output["code"] == CLOSE_INTERNAL_ERROR, output
    assert SECRET not in json.dumps(output)
    assert "RuntimeError" not in json.dumps(output)
    await client.disconnect(CLOSE_INTERNAL_ERROR)

    assert EVENTS[path] == ["mw-connect", "connect", "disconnect", "mw-disconnect"]
    await assert_left_nothing(layer, [path], sockets_before)


# -- a layer receive that does not end when cancelled --------------------------------------------------------


class SwallowingLayer(InMemoryChannelLayer):  # type: ignore[misc]  # channels ships no type hints
    """Loses one cancellation of a pending ``receive`` and goes on waiting.

    redis-py does this on Python 3.11 when the cancellation races its socket I/O (its
    ``asyncio.timeout``/``asyncio.wait_for``): seen with channels-redis in
    ``test_disconnect_cleanup_finishes_on_redis``, where the consumer's pump task, with
    ``cancelling() == 1``, goes on reading from Redis after its consumer has finished.
    """

    async def receive(self, channel: str) -> dict[str, Any]:
        try:
            return await super().receive(channel)  # type: ignore[no-any-return]
        except asyncio.CancelledError:
            return await super().receive(channel)  # type: ignore[no-any-return]


async def wait_until(done: Callable[[], bool], deadline: float) -> bool:
    """Poll ``done`` until it holds or the loop's clock passes ``deadline``."""
    loop = asyncio.get_running_loop()
    while not done():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def layer_pumps() -> list[asyncio.Task[Any]]:
    """The consumers' channel-layer pump tasks still running on this loop."""
    return [task for task in asyncio.all_tasks() if not task.done() and "_pump_layer" in repr(task.get_coro())]


async def disconnect_and_check(client: Client, path: str, layer: BaseChannelLayer, sockets_before: int) -> float:
    """Disconnect ``client``; within ``FINISH_WITHIN`` its cleanup must be done and its pump gone.

    Returns how long the cleanup took. Pumps left running are cancelled (again) before failing.
    """
    loop = asyncio.get_running_loop()
    left = loop.time()
    await client.send_input({"type": "websocket.disconnect", "code": 1000})
    await client.wait(TIMEOUT)  # like a server: the consumer's task is cancelled if still running then
    await wait_until(lambda: "mw-disconnect" in EVENTS.get(path, []), left + FINISH_WITHIN)
    took = loop.time() - left
    await wait_until(lambda: not layer_pumps(), min(left + FINISH_WITHIN, loop.time() + 1.0))
    pumps = layer_pumps()
    cancelling = [task.cancelling() for task in pumps]
    for task in pumps:  # so that the loop can close; one more cancel is enough
        task.cancel()
    await asyncio.wait(pumps, timeout=TIMEOUT) if pumps else None
    await assert_left_nothing(layer, [path], sockets_before)
    assert len(pumps) == 0, (
        f"{path}: the cleanup ran (after {took:.2f}s), but a second later {len(pumps)} channel-layer "
        f"pump task(s) were still running (cancelling() = {cancelling})"
    )
    return took


async def test_a_layer_receive_that_swallows_a_cancellation_neither_holds_the_cleanup_nor_leaks_the_pump(
    sockets_before: int,
) -> None:
    """The consumer's cleanup must not wait without bound for its pump, and the pump must stop."""
    swallowing = {"default": {"BACKEND": f"{__name__}.SwallowingLayer"}}
    with override_settings(CHANNEL_LAYERS=swallowing):
        layer = get_channel_layer()
        assert isinstance(layer, SwallowingLayer)
        path = new_path("swallow")
        client = Client(CANCEL_STYLES["subclass"].app, path)
        connected, _ = await client.connect(TIMEOUT)
        assert connected
        assert await client.ask({"event": "ping"}) == {"event": "pong"}
        await disconnect_and_check(client, path, layer, sockets_before)


class Light(RoutedSocketHandler):
    """No rows: a consumer whose work on disconnect is its hooks, one group and its pump."""

    rate_limit = None
    middlewares = [Tracking]
    routes = (*RoutedSocketHandler.routes, ("echo", "echo"))

    def echo(self, content: dict[str, Any]) -> dict[str, Any]:
        """Sync: runs in the worker thread."""
        return {"type": "echoed"}

    async def on_connect(self) -> None:
        record(self.path, "connect")
        CHANNELS[self.path] = self.channel_name
        await self.group_add(group_of(self.path))

    async def on_disconnect(self, code: int) -> None:
        record(self.path, "disconnect")


@pytest.mark.redis
async def test_disconnect_cleanup_finishes_on_redis(layer: BaseChannelLayer, sockets_before: int) -> None:
    """Connect, ask a little, disconnect, a dozen times: each time the disconnect hook must run
    within ``FINISH_WITHIN`` (the documented worst case on Python 3.11) and the consumer's layer
    pump must be gone, not left reading from Redis."""
    for attempt in range(12):
        path = new_path("redis", str(attempt))
        client = Client(Light.as_asgi(), path)
        connected, _ = await client.connect(TIMEOUT)
        assert connected
        for _ in range(attempt % 3):
            assert await client.ask({"type": "echo"}) == {"type": "echoed"}
        await disconnect_and_check(client, path, layer, sockets_before)
