"""Channel-layer messages: anything a process puts on a consumer's channel is harmless.

A message whose ``type`` names a framework method (``send.json``, ``close``, ``dispatch``,
``websocket.receive``...) does nothing visible, a malformed ``wsroute.*`` message is logged
and ignored, and a user's own Channels-style layer method still runs. "Nothing visible" is
checked with a barrier: a ``wsroute.send`` sent after the message must be the very next frame
the client gets, and the socket must go on answering requests.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from channels.layers import BaseChannelLayer
from django.views import View
from pydantic import BaseModel

from tests.adversarial.conftest import Client, Connect, read_frame, tracebacks
from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketRouter
from wsroute_django.consumer import SocketConsumer

#: hook and spy calls, per style
CALLS: dict[str, list[Any]] = {}


def called(name: str, *args: Any) -> None:
    CALLS.setdefault(name, []).append(args)


# -- decorator style: a handler class of the user's own, with a layer method --------------------------------


class ChatHandler(RoutedSocketHandler):
    rate_limit = None

    def chat_message(self, message: dict[str, Any]) -> None:
        """A Channels-style layer method (``{"type": "chat.message"}``), sync."""
        self.send_json({"type": "chat", "text": message["text"]})

    async def chat_notice(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "notice", "text": message["text"]})

    async def group_add(self, group: str) -> None:
        """A user override of a framework method: still never reachable from the layer."""
        called("decorator-group_add", group)
        await super().group_add(group)


async def opened(socket: SocketConsumer) -> None:
    called("decorator-connect")


def closed(socket: SocketConsumer, code: int) -> None:
    called("decorator-disconnect", code)


async def whoami(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "me", "channel": socket.channel_name}


class Page(View):
    socket = SocketRouter(handler=ChatHandler)
    socket.connect(opened)
    socket.disconnect(closed)
    socket.route("whoami")(whoami)


# -- subclass style ---------------------------------------------------------------------------------------------


class Events(JSONWebSocket):
    rate_limit = None

    async def on_connect(self) -> None:
        called("subclass-connect")

    def on_disconnect(self, code: int) -> None:
        called("subclass-disconnect", code)

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}

    async def on_whoami(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "me", "channel": self.channel_name}

    def chat_message(self, message: dict[str, Any]) -> None:
        self.send_json({"event": "chat", "text": message["text"]})

    async def chat_notice(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": "notice", "text": message["text"]})

    async def close(self, code: int | None = None) -> None:
        called("subclass-close", code)
        await super().close(code)


@dataclass(frozen=True)
class LayerStyle:
    name: str
    key: str
    ping: str
    pong: str
    app: Any


LAYER_STYLES = {
    "decorator": LayerStyle("decorator", "type", "PING", "PONG", Page.socket.as_asgi()),
    "subclass": LayerStyle("subclass", "event", "ping", "pong", Events.as_asgi()),
}


@pytest.fixture(params=list(LAYER_STYLES))
def style(request: pytest.FixtureRequest) -> LayerStyle:
    return LAYER_STYLES[request.param]


#: names of methods and attributes of wsroute's and Channels' consumer classes, as layer message types
FRAMEWORK_TYPES = [
    "send.json",
    "send_json",
    "send.text",
    "send",
    "group.add",
    "group_add",
    "group.send",
    "group.discard",
    "group.call.event",
    "close",
    "close.socket",
    "dispatch",
    "accept",
    "websocket.receive",
    "websocket.disconnect",
    "websocket.connect",
    "websocket.send",
    "websocket.close",
    "websocket.accept",
    "route.keys",
    "on.connect",
    "on_connect",
    "on.disconnect",
    "default.route",
    "heartbeat",
    "answer_ping",
    "as.asgi",
    "base.send",
    "channel.receive",
    "channel.layer",
    "user",
    "session",
    "path",
    "groups",
    "record",
    "state",
    "routes",
    "lifecycle.names",
    "__init__",
    "__call__",
    "__class__",
    ".close",
    "_finish",
    "_run",
    "_connect",
    "_pump.layer",
    "_layer_message",
    "_wsroute_message",
    "_conn",
    "wsroute.unknown",
    "Close",
    "",
]


async def open_socket(connect: Connect, style: LayerStyle) -> tuple[Client, str]:
    client = await connect(style.app)
    answer = await client.ask({style.key: "whoami"})
    assert answer[style.key] == "me", answer
    return client, answer["channel"]


async def barrier(client: Client, layer: BaseChannelLayer, channel: str, style: LayerStyle, what: object) -> None:
    """A ``wsroute.send`` after ``what``: its frame must be the next thing the client gets."""
    marker = {style.key: "barrier", "after": json.dumps(what, default=repr)[:200]}
    await layer.send(channel, {"type": "wsroute.send", "frame": marker})
    text, frame = await read_frame(client)
    assert frame == marker, f"{what!r} made the consumer send {text}"


async def still_answers(client: Client, style: LayerStyle) -> None:
    answer = await client.ask({style.key: style.ping, "ref": "alive"})
    assert answer.get(style.key) == style.pong and answer.get("ref") == "alive", answer


async def test_layer_messages_naming_framework_methods_do_nothing(
    connect: Connect, channel_layer: BaseChannelLayer, style: LayerStyle, caplog: pytest.LogCaptureFixture
) -> None:
    CALLS.clear()
    client, channel = await open_socket(connect, style)
    fields = {
        "text": json.dumps({style.key: style.ping}),
        "bytes": b"x",
        "code": 4000,
        "content": {style.key: "injected"},
        "frame": {style.key: "injected"},
        "group": "lobby",
        "event": "injected",
        "payload": {},
    }
    with caplog.at_level(logging.DEBUG, logger="wsroute"):
        for kind in FRAMEWORK_TYPES:
            await channel_layer.send(channel, {**fields, "type": kind})
            await barrier(client, channel_layer, channel, style, kind)
        await still_answers(client, style)

    assert {f"{style.name}-connect": [()]} == CALLS, CALLS  # no hook again, no close, no group_add
    assert not tracebacks(caplog), [r.getMessage() for r in tracebacks(caplog)]
    unknown = [r for r in caplog.records if r.levelno >= logging.WARNING and "unknown type" in r.getMessage()]
    assert 1 <= len(unknown) <= 3, f"{len(unknown)} log lines for {len(FRAMEWORK_TYPES)} messages"  # throttled


async def test_layer_messages_without_a_string_type_are_ignored(
    connect: Connect, channel_layer: BaseChannelLayer, style: LayerStyle
) -> None:
    CALLS.clear()
    client, channel = await open_socket(connect, style)
    for message in [
        {},
        {"type": None},
        {"type": 5},
        {"type": ["send.json"]},
        {"type": {"a": 1}},
        {"type": "x" * 10_000},
    ]:
        await channel_layer.send(channel, message)
        await barrier(client, channel_layer, channel, style, message)
    await still_answers(client, style)
    assert {f"{style.name}-connect": [()]} == CALLS, CALLS


MALFORMED = [
    {"type": "wsroute.send"},
    {"type": "wsroute.send", "frame": "not a dict"},
    {"type": "wsroute.send", "frame": ["a", "list"]},
    {"type": "wsroute.send", "frame": None},
    {"type": "wsroute.send", "frame": 7},
    {"type": "wsroute.close", "code": "x"},
    {"type": "wsroute.close", "code": 1011},
    {"type": "wsroute.close", "code": 1001},
    {"type": "wsroute.close", "code": 999},
    {"type": "wsroute.close", "code": 5000},
    {"type": "wsroute.close", "code": True},
    {"type": "wsroute.close", "code": None},
    {"type": "wsroute.close", "code": 4000.5},
    {"type": "wsroute.close", "code": [4000]},
    {"type": "wsroute.deliver"},
    {"type": "wsroute.deliver", "payload": {"a": 1}},
    {"type": "wsroute.deliver", "event": ""},
    {"type": "wsroute.deliver", "event": 5},
    {"type": "wsroute.deliver", "event": None},
    {"type": "wsroute.deliver", "event": "x", "payload": [1, 2]},
    {"type": "wsroute.deliver", "event": "x", "payload": "text"},
    {"type": "wsroute.deliver", "event": "x", "payload": None},
    {"type": "wsroute.call"},
    {"type": "wsroute.call", "event": 5},
    {"type": "wsroute.call", "event": "ping", "payload": [1]},
    {"type": "wsroute.call", "event": "on_connect"},
    {"type": "wsroute.call", "event": "connect"},
    {"type": "wsroute.call", "event": "no-such-route"},
]


async def test_malformed_wsroute_messages_are_logged_and_ignored(
    connect: Connect, channel_layer: BaseChannelLayer, style: LayerStyle, caplog: pytest.LogCaptureFixture
) -> None:
    CALLS.clear()
    client, channel = await open_socket(connect, style)
    with caplog.at_level(logging.WARNING, logger="wsroute"):
        for message in MALFORMED:
            caplog.clear()
            await channel_layer.send(channel, message)
            await barrier(client, channel_layer, channel, style, message)
            warned = [r for r in caplog.records if r.levelno >= logging.WARNING]
            assert warned, f"{message!r} was ignored without a log line"
        await still_answers(client, style)
    assert {f"{style.name}-connect": [()]} == CALLS, CALLS

    # A well-formed one still works, and so does a frame JSON cannot carry (logged, not sent).
    await channel_layer.send(channel, {"type": "wsroute.deliver", "event": "news", "payload": {"n": 1}})
    assert await client.recv() == {style.key: "news", "n": 1}
    await channel_layer.send(channel, {"type": "wsroute.send", "frame": {style.key: "nan", "v": float("nan")}})
    await barrier(client, channel_layer, channel, style, "a NaN frame")
    await channel_layer.send(channel, {"type": "wsroute.close", "code": 4321})
    await client.expect_close(4321)


async def test_a_users_own_layer_methods_still_run(
    connect: Connect, channel_layer: BaseChannelLayer, style: LayerStyle
) -> None:
    client, channel = await open_socket(connect, style)
    await channel_layer.send(channel, {"type": "chat.message", "text": "from a view"})
    assert await client.recv() == {style.key: "chat", "text": "from a view"}
    await channel_layer.send(channel, {"type": "chat.notice", "text": "from a task"})
    assert await client.recv() == {style.key: "notice", "text": "from a task"}
    await channel_layer.send(channel, {"type": "chat_message", "text": "underscores too"})
    assert await client.recv() == {style.key: "chat", "text": "underscores too"}
    await still_answers(client, style)


# -- a validated handler only ever gets a validated message ---------------------------------------------------------


class Move(BaseModel):
    x: int
    y: int


class Board(JSONWebSocket):
    rate_limit = None
    #: the types of what ``on_move`` was called with
    moves: ClassVar[list[str]] = []

    async def on_whoami(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "me", "channel": self.channel_name}

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}

    async def on_move(self, event: Move) -> dict[str, Any]:
        Board.moves.append(type(event).__name__)
        return {"event": "moved", "x": event.x}


async def test_a_layer_message_cannot_run_a_validated_handler_without_validation(
    connect: Connect, channel_layer: BaseChannelLayer
) -> None:
    """``on_move(self, event: Move)`` is a client route: the docs promise it is not called with an
    invalid payload. A layer message named after it (``on.move``) must not call it with the raw
    layer dict either; ``wsroute.call`` is the way to run a route server-side, and it validates."""
    style = LAYER_STYLES["subclass"]
    Board.moves.clear()
    client = await connect(Board.as_asgi())
    channel = (await client.ask({"event": "whoami"}))["channel"]

    for message in [{"type": "on.move", "x": "junk"}, {"type": "on_move"}, {"type": "wsroute.call", "event": "move"}]:
        await channel_layer.send(channel, message)
        await barrier(client, channel_layer, channel, style, message)
    await channel_layer.send(channel, {"type": "wsroute.call", "event": "move", "payload": {"x": 1, "y": 2}})
    await barrier(client, channel_layer, channel, style, "a valid wsroute.call")
    assert await client.ask({"event": "move", "x": 3, "y": 4}) == {"event": "moved", "x": 3}

    assert Board.moves == ["Move", "Move"], f"on_move was called with: {Board.moves}"
