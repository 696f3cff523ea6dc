"""Bad frames get one error shape, the socket stays open, and other sockets never notice.

Every case runs against both styles: the decorator style (routing key ``type``, errors
``{"type": "ERROR", ...}``) and the subclass style (``event``, ``{"event": "error", ...}``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.views import View
from pydantic import BaseModel, field_validator

from tests.consumers.conftest import Client, Connect, Frame, assert_error, tracebacks
from wsroute_django import JSONWebSocket, SocketRouter
from wsroute_django.consumer import SocketConsumer

SECRET = "hunter2-do-not-leak"


class Point(BaseModel):
    x: int
    y: int

    @field_validator("x")
    @classmethod
    def not_thirteen(cls, value: int) -> int:
        if value == 13:
            raise ValueError("x must not be 13")  # lands in pydantic's ctx as an exception object
        return value


# -- decorator style ------------------------------------------------------------------------------


def echo(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "echoed", "got": content}


def boom(socket: SocketConsumer, content: dict[str, Any]) -> None:
    raise RuntimeError(SECRET)


def point(socket: SocketConsumer, content: Point) -> dict[str, Any]:
    return {"type": "point", "sum": content.x + content.y}


def checked(socket: SocketConsumer, content: Any) -> dict[str, Any]:
    return {"type": "checked", "sum": content.x + content.y}


def fallback(socket: SocketConsumer, content: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "fallback", "got": content}


class DecoratorPage(View):
    socket = SocketRouter()
    socket.route("echo")(echo)
    socket.route("boom")(boom)
    socket.route("point")(point)
    socket.route("checked", schema=Point)(checked)


class DecoratorPageWithDefault(View):
    socket = SocketRouter()
    socket.route("echo")(echo)
    socket.default_route(fallback)


# -- subclass style ---------------------------------------------------------------------------------


class EventSocket(JSONWebSocket):
    routes = (("checked", "check_point", Point), ("strict", "on_strict", Point))

    def on_echo(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "echoed", "got": event}

    async def on_boom(self, event: dict[str, Any]) -> None:
        raise RuntimeError(SECRET)

    def on_point(self, event: Point) -> dict[str, Any]:
        return {"event": "point", "sum": event.x + event.y}

    def check_point(self, event: Any) -> dict[str, Any]:
        return {"event": "checked", "sum": event.x + event.y}

    def on_strict(self, event: Any) -> dict[str, Any]:
        return {"event": "strict", "sum": event.x + event.y}


class EventSocketWithDefault(JSONWebSocket):
    def on_echo(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "echoed", "got": event}

    def default_route(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "fallback", "got": event}


@dataclass(frozen=True)
class Style:
    key: str
    error: str
    app: Any
    app_with_default: Any

    def frame(self, name: Any, **fields: Any) -> Frame:
        return {self.key: name, **fields}


STYLES = {
    "decorator": Style("type", "ERROR", DecoratorPage.socket.as_asgi(), DecoratorPageWithDefault.socket.as_asgi()),
    "subclass": Style("event", "error", EventSocket.as_asgi(), EventSocketWithDefault.as_asgi()),
}


@pytest.fixture(params=list(STYLES))
def style(request: pytest.FixtureRequest) -> Style:
    return STYLES[request.param]


async def assert_still_fine(style: Style, client: Client, bystander: Client) -> None:
    """The socket answers a good frame next, and the other socket saw nothing and still works."""
    assert await client.ask(style.frame("echo", n=1)) == style.frame("echoed", got=style.frame("echo", n=1))
    assert await bystander.ask(style.frame("echo", n=2)) == style.frame("echoed", got=style.frame("echo", n=2))
    await client.silent()
    await bystander.silent()


# -- frames that are not messages -----------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """A bad frame: ``text`` or ``data`` (JSON-encoded) built for a style, or ``binary``."""

    code: str
    text: str | None = None
    data: Callable[[Style], Any] | None = None
    binary: bytes | None = None
    ref: str | int | None = None


BAD_FRAMES = {
    "invalid-json": Bad("bad_json", text='{"type": "echo", '),
    "not-json-at-all": Bad("bad_json", text="hello"),
    "empty-text-frame": Bad("bad_json", text=""),
    "json-array": Bad("bad_message", data=lambda s: [s.frame("echo")]),
    "json-string": Bad("bad_message", data=lambda s: "echo"),
    "json-number": Bad("bad_message", data=lambda s: 42),
    "json-null": Bad("bad_message", data=lambda s: None),
    "missing-key": Bad("bad_message", data=lambda s: {"ref": "m1", "payload": 1}, ref="m1"),
    "other-style-key": Bad("bad_message", data=lambda s: {"kind": "echo", "ref": 5}, ref=5),
    "key-is-a-number": Bad("bad_message", data=lambda s: s.frame(7, ref="n1"), ref="n1"),
    "key-is-null": Bad("bad_message", data=lambda s: s.frame(None, ref="n2"), ref="n2"),
    "key-is-a-list": Bad("bad_message", data=lambda s: s.frame(["echo"], ref=3), ref=3),
    "ref-is-a-list": Bad("bad_message", data=lambda s: s.frame("echo", ref=[1])),
    "unknown-type": Bad("unknown_type", data=lambda s: s.frame("nope", ref="u1"), ref="u1"),
    "binary-frame": Bad("bad_message", binary=b'{"type": "echo", "event": "echo"}'),
}


@pytest.mark.parametrize("case", list(BAD_FRAMES.values()), ids=list(BAD_FRAMES))
async def test_bad_frames_get_an_error_and_the_socket_stays_open(connect: Connect, style: Style, case: Bad) -> None:
    bystander = await connect(style.app)
    client = await connect(style.app)

    if case.binary is not None:
        await client.send_to(bytes_data=case.binary)
    elif case.text is not None:
        await client.send_text(case.text)
    else:
        assert case.data is not None
        await client.send_text(json.dumps(case.data(style)))

    assert_error(await client.recv(), case.code, key=style.key, value=style.error, ref=case.ref)
    await assert_still_fine(style, client, bystander)


async def test_unknown_type_goes_to_the_default_route_when_there_is_one(connect: Connect, style: Style) -> None:
    client = await connect(style.app_with_default)
    content = style.frame("nope", data=[1, 2], ref="d1")
    assert await client.ask(content) == style.frame("fallback", got=content, ref="d1")
    assert await client.ask(style.frame("echo")) == style.frame("echoed", got=style.frame("echo"))


# -- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["point", "checked"], ids=["model-annotation", "schema-argument"])
async def test_invalid_payload_is_a_validation_error_and_the_handler_is_not_called(
    connect: Connect, style: Style, route: str
) -> None:
    bystander = await connect(style.app)
    client = await connect(style.app)

    error = await client.ask(style.frame(route, x="not a number", ref="v1"))

    assert_error(error, "validation_error", key=style.key, value=style.error, ref="v1")
    errors = error["errors"]
    assert isinstance(errors, list)
    by_field = {tuple(e["loc"]): e for e in errors}
    assert set(by_field) == {("x",), ("y",)}
    assert by_field[("x",)]["type"] == "int_parsing"
    assert by_field[("y",)]["type"] == "missing"
    assert all("url" not in e for e in errors)
    # The valid form of the same message reaches the handler.
    assert await client.ask(style.frame(route, x=2, y=3, ref=9)) == style.frame(route, sum=5, ref=9)
    await assert_still_fine(style, client, bystander)


@pytest.mark.parametrize("route", ["point", "checked"], ids=["model-annotation", "schema-argument"])
async def test_a_custom_validators_exception_stays_off_the_wire(connect: Connect, style: Style, route: str) -> None:
    client = await connect(style.app)
    error = await client.ask(style.frame(route, x=13, y=1, ref=13))
    assert_error(error, "validation_error", key=style.key, value=style.error, ref=13)
    [problem] = error["errors"]
    assert problem["loc"] == ["x"]
    assert "x must not be 13" in problem["msg"]
    assert "ctx" not in problem
    assert await client.ask(style.frame(route, x=12, y=1)) == style.frame(route, sum=13)


# -- handler errors ---------------------------------------------------------------------------------


async def test_a_handler_exception_is_a_server_error_without_its_text(
    connect: Connect, style: Style, caplog: pytest.LogCaptureFixture
) -> None:
    bystander = await connect(style.app)
    client = await connect(style.app)

    error = await client.ask(style.frame("boom", ref="b1"))

    assert_error(error, "server_error", key=style.key, value=style.error, ref="b1")
    assert SECRET not in json.dumps(error)
    assert "RuntimeError" not in json.dumps(error)
    [record] = tracebacks(caplog)
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert SECRET in caplog.text  # the server's log has the whole story
    assert "Traceback" in caplog.text
    await assert_still_fine(style, client, bystander)


async def test_errors_without_a_ref_carry_none(connect: Connect, style: Style) -> None:
    client = await connect(style.app)
    assert_error(await client.ask(style.frame("boom")), "server_error", key=style.key, value=style.error)
    assert_error(await client.ask(style.frame("nope")), "unknown_type", key=style.key, value=style.error)


async def test_a_schema_in_routes_applies_to_an_on_event_method(connect: Connect) -> None:
    """``routes = (("strict", "on_strict", Point),)`` validates; the method is not routed twice without it."""
    client = await connect(EventSocket.as_asgi())
    error = await client.ask({"event": "strict", "x": 1, "ref": "s"})
    assert_error(error, "validation_error", key="event", value="error", ref="s")
    assert [e["loc"] for e in error["errors"]] == [["y"]]
    assert await client.ask({"event": "strict", "x": 1, "y": 2}) == {"event": "strict", "sum": 3}
