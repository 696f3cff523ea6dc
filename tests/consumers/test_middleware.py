"""The middleware pipeline, seen from a client."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.views import View

from tests.consumers.conftest import TIMEOUT, Connect, assert_error, tracebacks
from wsroute import DROP, Reject
from wsroute.contrib import RateLimitMiddleware
from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketMiddleware, SocketRouter
from wsroute_django.consumer import SocketConsumer

LOG: list[str] = []


@pytest.fixture(autouse=True)
def _clear_log() -> None:
    LOG.clear()


# -- order ------------------------------------------------------------------------------------------


class Tagger(SocketMiddleware):
    """Records its lifecycle calls and stamps messages on the way in and out."""

    tag = "?"

    def on_connect(self) -> None:
        LOG.append(f"connect:{self.tag}")

    def on_receive(self, content: dict[str, Any]) -> dict[str, Any]:
        return {**content, "trail": [*content.get("trail", []), f"in:{self.tag}"]}

    async def on_send(self, content: dict[str, Any]) -> dict[str, Any]:
        return {**content, "trail": [*content.get("trail", []), f"out:{self.tag}"]}

    async def on_disconnect(self, code: int) -> None:
        LOG.append(f"disconnect:{self.tag}:{code}")


class First(Tagger):
    tag = "1"


class Second(Tagger):
    tag = "2"


class Third(Tagger):
    tag = "3"


class Ordered(JSONWebSocket):
    middlewares = [First, Second, Third]

    def on_connect(self) -> None:
        LOG.append("connect:hook")

    async def on_disconnect(self, code: int) -> None:
        LOG.append(f"disconnect:hook:{code}")

    def on_echo(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "echo", "seen": event["trail"]}


class OrderedHandler(RoutedSocketHandler):
    middlewares = [First, Second, Third]


class OrderedPage(View):
    socket = SocketRouter(handler=OrderedHandler)

    @socket.connect
    async def hello(socket: SocketConsumer) -> None:
        LOG.append("connect:hook")

    @socket.disconnect
    def bye(socket: SocketConsumer, code: int) -> None:
        LOG.append(f"disconnect:hook:{code}")

    @socket.route("echo")
    def echo(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "echo", "seen": content["trail"]}


ORDERED = {"subclass": (Ordered.as_asgi(), "event"), "decorator": (OrderedPage.socket.as_asgi(), "type")}


@pytest.mark.parametrize("style", ORDERED)
async def test_list_order_in_reverse_order_out(connect: Connect, style: str) -> None:
    app, key = ORDERED[style]
    client = await connect(app)
    assert LOG == ["connect:1", "connect:2", "connect:3", "connect:hook"]

    reply = await client.ask({key: "echo"})

    assert reply == {key: "echo", "seen": ["in:1", "in:2", "in:3"], "trail": ["out:3", "out:2", "out:1"]}
    await client.disconnect(4321)
    assert LOG[4:] == ["disconnect:hook:4321", "disconnect:3:4321", "disconnect:2:4321", "disconnect:1:4321"]


# -- changing and dropping messages ---------------------------------------------------------------


class Rewrite(SocketMiddleware):
    """Incoming: renames legacy events and drops spam. Outgoing: stamps frames, drops secrets."""

    async def on_receive(self, content: dict[str, Any]) -> Any:
        if content.get("spam"):
            return DROP
        if content["event"] == "old_name":
            return {**content, "event": "new_name", "rewritten": True}
        return None

    def on_send(self, content: dict[str, Any]) -> Any:
        if content.get("secret"):
            return DROP
        return {**content, "stamp": "mw"}


class Rewritten(JSONWebSocket):
    middlewares = [Rewrite]

    def on_connect(self) -> None:
        self.group_add("stamped")

    def on_new_name(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "new", "got": event}

    def on_old_name(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "old-handler-ran"}

    def on_echo(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "echo", "n": event["n"]}

    async def on_tell(self, event: dict[str, Any]) -> None:
        await self.group_send("stamped", "told", {"text": event["text"], "secret": event.get("hush", False)})


async def test_on_receive_can_change_the_message_and_its_route(connect: Connect) -> None:
    client = await connect(Rewritten.as_asgi())
    reply = await client.ask({"event": "old_name", "x": 1, "ref": "r"})
    assert reply == {
        "event": "new",
        "got": {"event": "new_name", "x": 1, "ref": "r", "rewritten": True},
        "ref": "r",
        "stamp": "mw",
    }


async def test_on_receive_can_drop_a_message(connect: Connect) -> None:
    client = await connect(Rewritten.as_asgi())
    await client.send({"event": "echo", "n": 1, "spam": True, "ref": "s"})
    # Dropped: no reply and no error. The next frame answers the next request.
    assert await client.ask({"event": "echo", "n": 2}) == {"event": "echo", "n": 2, "stamp": "mw"}
    await client.silent()


async def test_on_send_changes_and_drops_frames_including_group_deliveries(connect: Connect) -> None:
    teller = await connect(Rewritten.as_asgi())
    listener = await connect(Rewritten.as_asgi())

    await teller.send({"event": "tell", "text": "hushed", "hush": True})
    await teller.send({"event": "tell", "text": "hello"})

    # The secret delivery was dropped on both sockets; the next one arrived stamped.
    assert await listener.recv() == {"event": "told", "text": "hello", "secret": False, "stamp": "mw"}
    assert await teller.recv() == {"event": "told", "text": "hello", "secret": False, "stamp": "mw"}
    # Error frames go through on_send too.
    assert_error(await listener.ask({"event": "nope"}), "unknown_type", key="event", value="error")
    await listener.silent()
    await teller.silent()


# -- rejecting and failing -------------------------------------------------------------------------


class Bouncer(SocketMiddleware):
    def on_connect(self) -> None:
        if self.scope.get("query_string") != b"pass=1":
            raise Reject("no pass")


class Exploding(SocketMiddleware):
    async def on_receive(self, content: dict[str, Any]) -> None:
        if content.get("explode"):
            raise RuntimeError("middleware broke: do-not-leak")


class ExplodingOnConnect(SocketMiddleware):
    def on_connect(self) -> None:
        raise KeyError("middleware connect broke")


class Guarded(JSONWebSocket):
    middlewares = [Bouncer, Exploding]

    def on_connect(self) -> None:
        LOG.append("connect:hook")
        self.send_json({"event": "welcome"})

    def on_echo(self, event: dict[str, Any]) -> dict[str, Any]:
        LOG.append("echo")
        return {"event": "echo"}


class BrokenConnect(JSONWebSocket):
    middlewares = [ExplodingOnConnect]

    def on_connect(self) -> None:
        LOG.append("connect:hook")


async def test_reject_in_middleware_closes_with_4403_after_accept(connect: Connect) -> None:
    client = await connect(Guarded.as_asgi(), "/ws/?pass=0")
    await client.expect_close(4403, "no pass")  # the reason goes in the close frame
    await client.send({"event": "echo"})
    await client.silent()
    assert LOG == []  # neither the consumer's hook nor a handler ran

    allowed = await connect(Guarded.as_asgi(), "/ws/?pass=1")
    assert await allowed.recv() == {"event": "welcome"}


async def test_an_exception_in_on_receive_is_a_server_error_and_logged(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    client = await connect(Guarded.as_asgi(), "/ws/?pass=1")
    assert await client.recv() == {"event": "welcome"}

    error = await client.ask({"event": "echo", "explode": True, "ref": 5})

    assert_error(error, "server_error", key="event", value="error", ref=5)
    assert "do-not-leak" not in str(error)
    assert LOG == ["connect:hook"]  # the handler did not run
    [record] = tracebacks(caplog)
    assert isinstance(record.exc_info[1], RuntimeError)  # type: ignore[index]
    assert record.levelno == logging.ERROR
    assert await client.ask({"event": "echo"}) == {"event": "echo"}


async def test_an_exception_in_middleware_on_connect_closes_with_4500_and_is_logged(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    client = await connect(BrokenConnect.as_asgi())
    await client.expect_close(4500)
    assert LOG == []
    [record] = tracebacks(caplog)
    assert isinstance(record.exc_info[1], KeyError)  # type: ignore[index]


# -- rate limiting ------------------------------------------------------------------------------------


class Limited(JSONWebSocket):
    middlewares = [RateLimitMiddleware.with_rate("2/h")]

    def on_echo(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "echo", "n": event["n"]}


async def test_rate_limit_answers_rate_limited_after_the_burst_and_keeps_the_socket(connect: Connect) -> None:
    client = await connect(Limited.as_asgi())
    other = await connect(Limited.as_asgi())

    assert await client.ask({"event": "echo", "n": 1}) == {"event": "echo", "n": 1}
    assert await client.ask({"event": "echo", "n": 2}) == {"event": "echo", "n": 2}
    assert_error(
        await client.ask({"event": "echo", "n": 3, "ref": 3}), "rate_limited", key="event", value="error", ref=3
    )

    # Still open: a later frame gets another rate_limited frame, not a close.
    await client.send({"event": "echo", "n": 4, "ref": "four"})
    output = await client.receive_output(TIMEOUT)
    assert output["type"] == "websocket.send", output
    assert_error(json.loads(output["text"]), "rate_limited", key="event", value="error", ref="four")

    # The limit is per socket.
    assert await other.ask({"event": "echo", "n": 1}) == {"event": "echo", "n": 1}
