"""Hostile client frames: whatever a client sends, it gets one bounded answer and the socket lives.

Both styles run every test: the decorator style (``SocketRouter``, routing key ``type``,
errors ``{"type": "ERROR"}``) and the subclass style (``JSONWebSocket``, ``event``,
``{"event": "error"}``). The property tests send each generated frame on one long-lived
socket with flood control off (``rate_limit = None`` and no ``ERROR_LIMIT``), then a barrier
request: the one frame before the barrier's answer is compared with what the wire format
(docs/wire-format.md) says that frame must get, computed independently below.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import override_settings
from django.views import View
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

from tests.adversarial.conftest import (
    MAX_MESSAGE_SIZE,
    Client,
    Connect,
    Frame,
    Style,
    Wire,
    check_error_frame,
    exchange,
    on_the_wire,
    tracebacks,
)
from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketRouter
from wsroute_django.consumer import SocketConsumer

# -- models -------------------------------------------------------------------------------------------


class Point(BaseModel):
    """Extra members (the routing key, ``ref``) are ignored."""

    x: int
    y: int
    tags: list[str] = []


class Strict(BaseModel):
    """Every member it does not name is an error of its own: long error lists."""

    model_config = ConfigDict(extra="forbid")

    type: str | None = None
    event: str | None = None
    ref: str | int | None = None
    x: int


ITEM = re.compile(r"item\.(\d{1,6})")

#: hook calls per consumer class; a routing key must never reach a hook
HOOKS: dict[str, int] = {"decorator-connect": 0, "decorator-disconnect": 0, "event-connect": 0, "event-disconnect": 0}


# -- decorator style -------------------------------------------------------------------------------------


class Unlimited(RoutedSocketHandler):
    """Answers ``PING`` with ``PONG``; no flood control, so one socket can take every example."""

    rate_limit = None


async def opened(socket: SocketConsumer) -> None:
    HOOKS["decorator-connect"] += 1


async def closed(socket: SocketConsumer, code: int) -> None:
    HOOKS["decorator-disconnect"] += 1


def echo(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "echoed", "size": len(content)}


async def point(socket: SocketConsumer, content: Point) -> dict[str, Any]:
    return {"type": "point", "sum": content.x + content.y}


def checked(socket: SocketConsumer, content: Any) -> dict[str, Any]:
    return {"type": "checked", "sum": content.x + content.y}


async def strict(socket: SocketConsumer, content: Strict) -> dict[str, Any]:
    return {"type": "strict", "x": content.x}


async def item(socket: SocketConsumer, content: dict[str, Any], match: re.Match[str] | None = None) -> dict[str, Any]:
    assert match is not None
    return {"type": "item", "id": match[1]}


async def say(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    """Echoes the text back: a reply built from what the client sent."""
    return {"type": "said", "text": content.get("text")}


class DecoratorPage(View):
    socket = SocketRouter(handler=Unlimited)
    socket.connect(opened)
    socket.disconnect(closed)
    socket.route("echo")(echo)
    socket.route("point")(point)
    socket.route("checked", schema=Point)(checked)
    socket.route("strict")(strict)
    socket.route(ITEM)(item)
    socket.route("say")(say)


# -- subclass style ----------------------------------------------------------------------------------------


class EventSocket(JSONWebSocket):
    rate_limit = None
    routes = (("checked", "check", Point), (ITEM, "find"))

    async def on_connect(self) -> None:
        HOOKS["event-connect"] += 1

    def on_disconnect(self, code: int) -> None:
        HOOKS["event-disconnect"] += 1

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}

    def on_echo(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "echoed", "size": len(event)}

    async def on_point(self, event: Point) -> dict[str, Any]:
        return {"event": "point", "sum": event.x + event.y}

    def check(self, event: Any) -> dict[str, Any]:
        return {"event": "checked", "sum": event.x + event.y}

    async def on_strict(self, event: Strict) -> dict[str, Any]:
        return {"event": "strict", "x": event.x}

    async def find(self, event: dict[str, Any], match: re.Match[str] | None = None) -> dict[str, Any]:
        assert match is not None
        return {"event": "item", "id": match[1]}

    async def on_say(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "said", "text": event.get("text")}


WIRE = Wire()
STYLES = {
    "decorator": Style("decorator", "type", "ERROR", on_the_wire(DecoratorPage.socket.as_asgi(), WIRE), "PING", "PONG"),
    "subclass": Style("subclass", "event", "error", on_the_wire(EventSocket.as_asgi(), WIRE), "ping", "pong"),
}

#: names of methods, hooks and attributes of the consumer classes, which a client must never reach
INTERNAL_NAMES = [
    "on_connect",
    "on_disconnect",
    "connect",
    "disconnect",
    "on.connect",
    "websocket_receive",
    "websocket.receive",
    "websocket_connect",
    "websocket_disconnect",
    "send_json",
    "send_text",
    "send",
    "dispatch",
    "close",
    "close_socket",
    "accept",
    "group_add",
    "group_discard",
    "group_send",
    "group_call_event",
    "__init__",
    "__call__",
    "__class__",
    "_finish",
    "_run",
    "_connect",
    "_pump_layer",
    "_layer_message",
    "_wsroute_message",
    "as_asgi",
    "base_send",
    "channel_receive",
    "route_keys",
    "default_route",
    "heartbeat",
    "answer_ping",
    "routes",
    "Handler",
    "user",
    "groups",
    "state",
    "record",
    "check",
    "find",
    "on_ping",
    "on_echo",
]


# -- what each frame must get --------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} overflows")
    return value


#: JSON as the wire format defines it: no NaN/Infinity, no number that overflows a double
STRICT_JSON = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def is_unicode(text: str) -> bool:
    """No lone UTF-16 surrogate in ``text``: it can be encoded as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def all_unicode(value: Any) -> bool:
    """Every string in a decoded JSON value, keys included, is valid Unicode.

    Without recursion: Python 3.13's json decodes arrays nested deeper than the interpreter's
    recursion limit allows a Python function to walk."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not is_unicode(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


@dataclass(frozen=True)
class Hostile:
    """One client frame: a text frame, or a binary one."""

    text: str | None = None
    binary: bytes | None = None

    def __repr__(self) -> str:
        shown = self.text if self.text is not None else self.binary
        if shown is not None and len(shown) > 160:
            return f"Hostile({shown[:80]!r}...{shown[-40:]!r}, {len(shown)} long)"
        return f"Hostile(text={self.text!r})" if self.binary is None else f"Hostile(binary={self.binary!r})"


@dataclass(frozen=True)
class Expected:
    """An error frame with ``code`` (and ``ref``), or a reply equal to ``reply`` (plus ``ref``)."""

    code: str | None = None
    reply: Frame | None = None
    ref: str | int | None = None


def expected(style: Style, hostile: Hostile) -> Expected:
    """What the wire format says ``hostile`` must get from a consumer of ``style``."""
    if hostile.text is None:
        return Expected("bad_message")
    if len(hostile.text.encode("utf-8")) > MAX_MESSAGE_SIZE:
        return Expected("too_large")
    try:
        content = STRICT_JSON.decode(hostile.text)
    except (ValueError, RecursionError):
        return Expected("bad_json")
    if not all_unicode(content):  # "\ud800" escapes no character: no text, so not JSON text
        return Expected("bad_json")
    if not isinstance(content, dict):
        return Expected("bad_message")
    ref = content.get("ref")
    if ref is not None and (isinstance(ref, bool) or not isinstance(ref, str | int) or len(str(ref)) > 128):
        return Expected("bad_message")
    key = content.get(style.key)
    if not isinstance(key, str):
        return Expected("bad_message", ref=ref)
    k = style.key
    if key == style.ping:
        return Expected(reply={k: style.pong}, ref=ref)
    if key == "echo":
        return Expected(reply={k: "echoed", "size": len(content)}, ref=ref)
    if key == "say":
        return Expected(reply={k: "said", "text": content.get("text")}, ref=ref)
    if key in ("point", "checked", "strict"):
        model = Strict if key == "strict" else Point
        try:
            valid = model.model_validate(content)
        except ValidationError:
            return Expected("validation_error", ref=ref)
        if isinstance(valid, Strict):
            return Expected(reply={k: "strict", "x": valid.x}, ref=ref)
        assert isinstance(valid, Point)
        return Expected(reply={k: key, "sum": valid.x + valid.y}, ref=ref)
    match = ITEM.fullmatch(key)
    if match is not None:
        return Expected(reply={k: "item", "id": match[1]}, ref=ref)
    return Expected("unknown_type", ref=ref)


def check_answer(style: Style, hostile: Hostile, answers: list[tuple[str, Frame]]) -> None:
    assert len(answers) == 1, f"{hostile!r} got {len(answers)} answers: {answers!r}"
    [(text, frame)] = answers
    want = expected(style, hostile)
    if want.code is None:
        assert want.reply is not None
        got = dict(frame)
        if want.reply == {style.key: style.pong}:
            got.pop("ts", None)  # PONG carries a timestamp
        assert got == (want.reply if want.ref is None else {**want.reply, "ref": want.ref}), (hostile, frame)
        return
    error = check_error_frame(text, style, want.code)
    if want.ref is None:
        assert "ref" not in error, error
    else:
        assert error["ref"] == want.ref, error
    if want.code == "validation_error":
        assert isinstance(error["errors"], list), error
        assert 1 <= len(error["errors"]) <= 20, error


async def send_hostile(client: Client, hostile: Hostile) -> None:
    if hostile.text is not None:
        await client.send_input({"type": "websocket.receive", "text": hostile.text})
    else:
        await client.send_input({"type": "websocket.receive", "bytes": hostile.binary})


# -- strategies ------------------------------------------------------------------------------------------

ROUTE_NAMES = ["echo", "point", "checked", "strict", "say", "item.7", "item.", "item.1234567", "PING", "ping", "Ping"]

#: text without lone surrogates: a real server never hands an app one in a text frame
texts = st.text(max_size=24)
numbers_as_text = st.from_regex(r"-?(0|[1-9][0-9]{0,3})(\.[0-9]{1,4})?[eE][+-]?[0-9]{1,4}", fullmatch=True)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**200), max_value=10**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
    | numbers_as_text
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4), max_leaves=16
)
routing_values = st.sampled_from(ROUTE_NAMES + INTERNAL_NAMES) | texts | json_scalars | st.lists(texts, max_size=2)
refs = (
    st.text(max_size=140)
    | st.integers(min_value=-(10**140), max_value=10**140)
    | st.sampled_from(["", "r" * 128, "r" * 129, "é" * 128, "😀" * 128, 10**127, 10**128, -(10**127)])
    | json_values
)
point_fields = st.fixed_dictionaries(
    {},
    optional={
        "x": st.integers() | numbers_as_text | json_values,
        "y": st.integers(min_value=-100, max_value=100) | json_values,
        "tags": st.lists(texts | json_scalars, max_size=6),
        "text": texts,
    },
)


@st.composite
def objects(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON object that looks more or less like a message of either style."""
    content: dict[str, Any] = draw(st.dictionaries(texts, json_values, max_size=5))
    content.update(draw(point_fields))
    content.update(draw(st.dictionaries(st.sampled_from(["type", "event"]), routing_values, max_size=2)))
    if draw(st.booleans()):
        content["ref"] = draw(refs)
    return content


def as_text(content: Any, ascii_only: bool) -> str:
    """``content`` as JSON text; lone surrogates always escaped, as a real client must send them."""
    text = json.dumps(content, ensure_ascii=ascii_only)
    return text if is_unicode(text) else json.dumps(content)


@st.composite
def numbers_with_exponents(draw: st.DrawFn) -> str:
    """Numbers written with exponents, some of which overflow a double."""
    number = draw(numbers_as_text | st.sampled_from(["1e400", "-1e400", "1E+999", "-0.5e-999", "1e308", "2e308"]))
    name = draw(st.sampled_from(["echo", "point"]))
    where = draw(st.sampled_from(["n", "x", "list", "nested"]))
    value = {"n": number, "x": number, "list": f"[1, {number}]", "nested": f'{{"a": [[{number}]]}}'}[where]
    member = "x" if where == "x" else "n"
    return f'{{"type": "{name}", "event": "{name}", "y": 1, "{member}": {value}, "ref": 1}}'


non_finite = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "[NaN]", "[1, [2, Infinity]]", '{"a": -Infinity}', "1e400"]
).map(lambda token: f'{{"type": "echo", "event": "echo", "n": {token}}}')


@st.composite
def nested(draw: st.DrawFn) -> str:
    """Nesting either shallow enough to parse or far too deep: never near the parser's limit."""
    depth = draw(st.integers(1, 200) | st.integers(5_000, 100_000))
    kind = draw(st.sampled_from(["array", "object", "inside"]))
    if kind == "array":
        return "[" * depth + "]" * depth
    if kind == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return '{"type": "echo", "event": "echo", "n": ' + "[" * depth + "]" * depth + "}"


@st.composite
def huge(draw: st.DrawFn) -> str:
    """A long key or value, in 1- to 4-byte characters; the longest are over the size limit."""
    char = draw(st.sampled_from(["a", "é", "€", "😀"]))
    size = draw(st.integers(0, 2_000) | st.integers(100_000, 200_000))
    blob = char * size
    name = draw(st.sampled_from(["echo", "strict", "nope", blob]))
    if draw(st.booleans()):
        return as_text({"type": name, "event": name, blob: 1, "ref": 5}, ascii_only=False)
    return as_text({"type": name, "event": name, "x": blob, "ref": 5}, ascii_only=draw(st.booleans()))


@st.composite
def mangled(draw: st.DrawFn) -> str:
    """A message cut short or with a character slipped in."""
    text = as_text(draw(objects()), ascii_only=draw(st.booleans()))
    position = draw(st.integers(0, len(text)))
    if draw(st.booleans()):
        return text[:position]
    return text[:position] + draw(st.sampled_from(list('{}[]",:\\ x0-+.eE'))) + text[position:]


#: strings holding lone UTF-16 surrogates (and astral characters, whose escapes are surrogate pairs)
surrogate_texts = st.lists(
    st.characters(max_codepoint=0x7F) | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.just("😀"),
    min_size=1,
    max_size=6,
).map("".join)


@st.composite
def with_surrogates(draw: st.DrawFn) -> str:
    """A message with a lone surrogate escaped somewhere: the ref, the routing key, a member name or value."""
    content = draw(objects())
    odd = draw(surrogate_texts)
    where = draw(st.sampled_from(["ref", "key", "name", "value", "nested"]))
    if where == "ref":
        content["ref"] = odd
    elif where == "key":
        content["type"] = content["event"] = odd
    elif where == "name":
        content[odd] = 1
    elif where == "value":
        content["x"] = odd
    else:
        content["tags"] = [[{"deep": odd}]]
    return json.dumps(content)  # ASCII: the surrogates travel as \uXXXX escapes


hostile_frames = st.one_of(
    st.builds(Hostile, text=st.builds(as_text, objects(), st.booleans())),
    st.builds(Hostile, text=with_surrogates()),
    st.builds(Hostile, text=st.builds(as_text, json_values, st.booleans())),
    st.builds(Hostile, text=numbers_with_exponents()),
    st.builds(Hostile, text=non_finite),
    st.builds(Hostile, text=nested()),
    st.builds(Hostile, text=huge()),
    st.builds(Hostile, text=mangled()),
    st.builds(Hostile, text=st.text(max_size=64)),
    st.builds(Hostile, binary=st.binary(max_size=64)),
    st.just(Hostile(text="")),
)

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


# -- fixtures ----------------------------------------------------------------------------------------------


class Sockets:
    """One open socket per style, reused by every example; replaced after a failed example."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self._open: dict[str, Client] = {}

    async def get(self, style: Style) -> Client:
        client = self._open.get(style.name)
        if client is None:
            client = self._open[style.name] = await self._connect(style.app)
        return client

    def forget(self, style: Style) -> None:
        self._open.pop(style.name, None)


@pytest.fixture
async def sockets(connect: Connect, no_error_budget: None) -> AsyncIterator[Sockets]:
    yield Sockets(connect)


@pytest.fixture(params=list(STYLES))
def style(request: pytest.FixtureRequest) -> Style:
    return STYLES[request.param]


@pytest.fixture(autouse=True)
def all_frames_sendable() -> Iterator[None]:
    """Every frame a test's consumers sent must be one a real server can put on the wire."""
    WIRE.unsendable.clear()
    yield
    unsendable, WIRE.unsendable[:] = list(WIRE.unsendable), []
    assert not unsendable, f"the server sent frames that are not valid UTF-8: {[t[:200] for t in unsendable]}"


async def answers_to(sockets: Sockets, style: Style, hostile: Hostile) -> list[tuple[str, Frame]]:
    client = await sockets.get(style)
    try:
        return await exchange(client, style, lambda: send_hostile(client, hostile))
    except BaseException:
        sockets.forget(style)
        raise


# -- properties -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(STYLES))
@PROPERTY
@given(hostile=hostile_frames)
async def test_any_frame_gets_exactly_one_bounded_answer_and_the_socket_lives(
    name: str, hostile: Hostile, sockets: Sockets
) -> None:
    style = STYLES[name]
    answers = await answers_to(sockets, style, hostile)
    try:
        check_answer(style, hostile, answers)
    except BaseException:
        sockets.forget(style)
        raise


@pytest.mark.parametrize("name", list(STYLES))
@settings(PROPERTY, max_examples=40)
@given(hostiles=st.lists(hostile_frames, min_size=2, max_size=6))
async def test_a_run_of_hostile_frames_gets_one_answer_each_in_order(
    name: str, hostiles: list[Hostile], sockets: Sockets
) -> None:
    """Sent back to back without waiting: one answer per frame, in order, then the barrier's."""
    style = STYLES[name]
    client = await sockets.get(style)

    async def send_all() -> None:
        for hostile in hostiles:
            await send_hostile(client, hostile)

    try:
        answers = await exchange(client, style, send_all)
        assert len(answers) == len(hostiles), (hostiles, answers)
        for hostile, answer in zip(hostiles, answers, strict=True):
            check_answer(style, hostile, [answer])
    except BaseException:
        sockets.forget(style)
        raise


# -- targeted frames ------------------------------------------------------------------------------------------
#
# Each test runs its cases on one socket (a new one only after a case failed), and reports
# every failing case at once: opening and closing sockets is what costs time on Redis.


class Cases:
    """Runs named cases against one style's socket and collects the failures."""

    def __init__(self, sockets: Sockets, style: Style) -> None:
        self.sockets = sockets
        self.style = style
        self.failures: list[str] = []

    async def answers(self, case: str, hostile: Hostile) -> list[tuple[str, Frame]] | None:
        """The frames ``hostile`` got, or None (and the case counted as failed) if the socket died."""
        try:
            return await answers_to(self.sockets, self.style, hostile)
        except (AssertionError, pytest.fail.Exception) as exc:
            self.failures.append(f"{case}: {exc}")
            return None

    def check(self, case: str, ok: bool, message: object) -> None:
        if not ok:
            self.failures.append(f"{case}: {message}")

    def error(self, case: str, answers: list[tuple[str, Frame]], code: str, ref: object = None) -> None:
        """``answers`` is exactly one bounded error frame with ``code`` and ``ref`` (None: no ref)."""
        if len(answers) != 1:
            self.failures.append(f"{case}: expected one {code} error frame, got {answers!r}")
            return
        try:
            error = check_error_frame(answers[0][0], self.style, code)
            assert error.get("ref") == ref, f"ref {error.get('ref')!r}, expected {ref!r}: {error!r}"
        except AssertionError as exc:
            self.failures.append(f"{case}: {exc}")

    def done(self) -> None:
        assert not self.failures, f"{len(self.failures)} case(s) failed:\n" + "\n".join(self.failures)


async def test_every_internal_name_is_unknown_type_and_calls_nothing(
    sockets: Sockets, style: Style, caplog: pytest.LogCaptureFixture
) -> None:
    cases = Cases(sockets, style)
    await sockets.get(style)
    hooks = dict(HOOKS)
    for index, name in enumerate(INTERNAL_NAMES):
        frame = style.frame(name, ref=index, code=1000, group="lobby", text="x", content={style.key: "echo"})
        answers = await cases.answers(name, Hostile(json.dumps(frame)))
        if answers is not None:
            cases.error(name, answers, "unknown_type", ref=index)
    cases.check("hooks", hooks == HOOKS, f"a routing key ran a hook: {hooks} -> {HOOKS}")
    cases.check("log", not tracebacks(caplog), [r.getMessage() for r in tracebacks(caplog)])
    cases.done()


NON_FINITE = {
    "overflow": "1e400",
    "negative-overflow": "-1e400",
    "overflow-capital-e": "1E+400",
    "overflow-in-a-list": "[1, 2, 1e400]",
    "negative-overflow-nested": '{"deep": [[-1e400]]}',
    "nan": "NaN",
    "infinity": "Infinity",
    "minus-infinity": "-Infinity",
    "nan-in-a-list": "[1, NaN]",
    "infinity-in-an-object": '{"v": Infinity}',
}


async def test_non_finite_numbers_are_bad_json(sockets: Sockets, style: Style) -> None:
    cases = Cases(sockets, style)
    for name, token in NON_FINITE.items():
        for member in ("n", "x", "ref"):
            text = f'{{"{style.key}": "point", "{member}": {token}, "y": 1, "ref": 4}}'
            if member == "ref":
                text = f'{{"{style.key}": "point", "ref": {token}}}'
            answers = await cases.answers(f"{name} as {member}", Hostile(text))
            if answers is not None:
                cases.error(f"{name} as {member}", answers, "bad_json")
    cases.done()


async def test_large_finite_numbers_are_fine(sockets: Sockets, style: Style) -> None:
    client = await sockets.get(style)
    text = f'{{"{style.key}": "echo", "a": 1e308, "b": -1.7976931348623157e308, "c": 1e-400, "d": {"9" * 4000}}}'
    answers = await exchange(client, style, lambda: client.send_text(text))
    assert [frame for _, frame in answers] == [style.frame("echoed", size=5)]


REFS: dict[str, tuple[str | int, bool]] = {
    "str-128": ("r" * 128, True),
    "str-129": ("r" * 129, False),
    "emoji-128": ("😀" * 128, True),
    "emoji-129": ("😀" * 129, False),
    "int-128-digits": (10**127, True),
    "int-129-digits": (10**128, False),
    "negative-128-characters": (-(10**126), True),
    "negative-129-characters": (-(10**127), False),
    "str-100k": ("r" * 100_000, False),
}


async def test_a_ref_longer_than_128_characters_is_bad_message(sockets: Sockets, style: Style) -> None:
    cases = Cases(sockets, style)
    for name, (ref, fine) in REFS.items():
        frame = style.frame("echo", ref=ref)
        answers = await cases.answers(name, Hostile(json.dumps(frame, ensure_ascii=False)))
        if answers is None:
            continue
        if fine:
            got = [answer for _, answer in answers]
            cases.check(name, got == [style.frame("echoed", size=2, ref=ref)], got)
        else:
            cases.error(name, answers, "bad_message")
    cases.done()


SIZES = {
    "ascii-at-the-limit": ("a", MAX_MESSAGE_SIZE, True),
    "ascii-one-byte-over": ("a", MAX_MESSAGE_SIZE + 1, False),
    "two-byte-at-the-limit": ("é", MAX_MESSAGE_SIZE, True),
    "two-byte-one-byte-over": ("é", MAX_MESSAGE_SIZE + 1, False),
    "four-byte-at-the-limit": ("😀", MAX_MESSAGE_SIZE, True),
    "four-byte-over-by-one-character": ("😀", MAX_MESSAGE_SIZE + 4, False),
    "four-byte-far-over": ("😀", 4 * MAX_MESSAGE_SIZE, False),
}


def frame_of_size(style: Style, char: str, size: int) -> str:
    """``{<key>: "echo", "ref": 3, "pad": "<char>..."}``, exactly ``size`` bytes of UTF-8."""
    head = f'{{"{style.key}": "echo", "ref": 3, "pad": "'
    tail = '"}'
    width = len(char.encode("utf-8"))
    text = head + char * ((size - len(head) - len(tail)) // width)
    text += "a" * (size - len(text.encode("utf-8")) - len(tail)) + tail
    assert len(text.encode("utf-8")) == size
    return text


async def test_frames_over_512_kib_of_utf8_are_too_large(sockets: Sockets, style: Style) -> None:
    cases = Cases(sockets, style)
    for name, (char, size, fine) in SIZES.items():
        answers = await cases.answers(name, Hostile(frame_of_size(style, char, size)))
        if answers is None:
            continue
        if fine:
            got = [answer for _, answer in answers]
            cases.check(name, got == [style.frame("echoed", size=3, ref=3)], got)
        else:
            cases.error(name, answers, "too_large")  # never decoded, so no ref
    cases.done()


async def test_max_message_size_follows_the_setting(connect: Connect, style: Style) -> None:
    with override_settings(WSROUTE={"PERSIST": False, "ERROR_LIMIT": None, "MAX_MESSAGE_SIZE": 1000}):
        client = await connect(style.app)
    fine, over = frame_of_size(style, "é", 1000), frame_of_size(style, "é", 1001)
    answers = await exchange(client, style, lambda: client.send_text(fine))
    assert [frame for _, frame in answers] == [style.frame("echoed", size=3, ref=3)]
    [(raw, _)] = await exchange(client, style, lambda: client.send_text(over))
    check_error_frame(raw, style, "too_large")


EMPTY_AND_BINARY = {
    "empty-text": (Hostile(text=""), "bad_json"),
    "whitespace": (Hostile(text=" \n\t "), "bad_json"),
    "empty-binary": (Hostile(binary=b""), "bad_message"),
    "binary-json": (Hostile(binary=b'{"type": "echo", "event": "echo"}'), "bad_message"),
    "binary-garbage": (Hostile(binary=bytes(range(256))), "bad_message"),
    "binary-utf16": (Hostile(binary='{"type": "echo"}'.encode("utf-16")), "bad_message"),
}


async def test_empty_and_binary_frames(sockets: Sockets, style: Style) -> None:
    cases = Cases(sockets, style)
    for name, (hostile, code) in EMPTY_AND_BINARY.items():
        answers = await cases.answers(name, hostile)
        if answers is not None:
            cases.error(name, answers, code)
    client = await sockets.get(style)
    answers = await exchange(client, style, lambda: client.send_input({"type": "websocket.receive"}))
    cases.error("neither-text-nor-bytes", answers, "bad_message")
    cases.done()


def _many_members(style: Style, count: int, key_char: str, value: Any) -> dict[str, Any]:
    content: dict[str, Any] = {style.key: "strict", "ref": "big"}
    for index in range(count):
        content[f"{index}-{key_char * 300}"] = value
    return content


BIG_ERRORS: dict[str, Callable[[Style], dict[str, Any]]] = {
    "a-thousand-extra-members": lambda s: _many_members(s, 1000, "k", 1),
    "long-unicode-keys-and-values": lambda s: _many_members(s, 20, "😀", "😀" * 5000),
    "nested-values": lambda s: _many_members(s, 50, "n", {"a": [[{"b": "x" * 100}] * 10] * 5}),
    "x-as-a-huge-number-string": lambda s: {s.key: "strict", "ref": "big", "x": "9" * 400_000},
    "x-as-a-huge-object": lambda s: {s.key: "strict", "ref": "big", "x": {str(i): "v" * 50 for i in range(5000)}},
    "x-as-a-huge-list": lambda s: {s.key: "point", "ref": "big", "x": ["😀" * 100] * 1000, "y": [1] * 10_000},
    "tags-wrong-everywhere": lambda s: {
        s.key: "point",
        "ref": "big",
        "x": 1,
        "y": 2,
        "tags": [[i] for i in range(5000)],
    },
    "routing-key-and-ref-of-the-wrong-types": lambda s: {
        s.key: "strict",
        "ref": "big",
        "type" if s.key == "event" else "event": ["😀" * 1000] * 100,
        "x": "😀" * 10_000,
    },
}


async def test_validation_errors_stay_under_8_kib(sockets: Sockets, style: Style) -> None:
    cases = Cases(sockets, style)
    for name, build in BIG_ERRORS.items():
        text = json.dumps(build(style), ensure_ascii=False)
        assert len(text.encode("utf-8")) <= MAX_MESSAGE_SIZE, name
        answers = await cases.answers(name, Hostile(text))
        if answers is None:
            continue
        cases.error(name, answers, "validation_error", ref="big")
        if len(answers) == 1:
            errors = json.loads(answers[0][0]).get("errors")
            cases.check(name, isinstance(errors, list) and 1 <= len(errors) <= 20, errors)
    cases.done()


class Crashing(JSONWebSocket):
    rate_limit = None
    secret = "s3cr3t-token-in-the-exception"

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {self.type_key: "pong" if self.type_key == "event" else "PONG"}

    on_PING = on_ping  # the decorator style's barrier

    def on_boom(self, event: dict[str, Any]) -> None:
        raise KeyError(self.secret)

    async def on_returns_a_set(self, event: dict[str, Any]) -> Any:
        return {1, 2}

    async def on_returns_nan(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"nan": float("nan")}

    async def on_returns_a_datetime(self, event: dict[str, Any]) -> dict[str, Any]:
        import datetime

        return {"at": datetime.datetime.now()}

    async def on_returns_too_deep(self, event: dict[str, Any]) -> dict[str, Any]:
        deep: Any = []
        for _ in range(100_000):
            deep = [deep]
        return {"deep": deep}


class CrashingTyped(Crashing):
    type_key = "type"
    error_value = "ERROR"


async def test_a_handler_error_is_a_bare_server_error(connect: Connect, style: Style) -> None:
    """A handler's exception or unsendable reply never reaches the client; the next frame is answered."""
    cls = CrashingTyped if style.key == "type" else Crashing
    client = await connect(on_the_wire(cls.as_asgi(), WIRE))
    for name in ("boom", "returns_a_set", "returns_nan", "returns_a_datetime", "returns_too_deep"):
        frame = style.frame(name, ref=name)
        answers = await exchange(client, style, functools.partial(client.send_text, json.dumps(frame)))
        assert len(answers) == 1, answers
        raw, _ = answers[0]
        error = check_error_frame(raw, style, "server_error")
        assert error["ref"] == name
        assert Crashing.secret not in raw


# -- lone surrogates: valid JSON escapes that are not valid UTF-8 ---------------------------------------------

SURROGATES: dict[str, Callable[[Style], str]] = {
    "in-the-ref-of-an-unknown-type": lambda s: f'{{"{s.key}": "nope", "ref": "\\ud800"}}',
    "in-the-ref-of-a-bad-message": lambda s: f'{{"{s.key}": 5, "ref": "a\\udfffb"}}',
    "in-the-ref-of-a-validation-error": lambda s: f'{{"{s.key}": "point", "ref": "\\udbff"}}',
    "in-a-validated-value": lambda s: f'{{"{s.key}": "point", "x": "\\ud800", "y": 1}}',
    "in-an-unknown-member-name": lambda s: f'{{"{s.key}": "strict", "x": 1, "\\ud800": 1}}',
    "in-the-routing-key": lambda s: f'{{"{s.key}": "\\ud800"}}',
    "in-a-reply-built-from-the-frame": lambda s: f'{{"{s.key}": "say", "text": "\\ud800"}}',
    "reversed-pair": lambda s: f'{{"{s.key}": "say", "text": "\\ude00\\ud83d"}}',
    "deep-inside": lambda s: f'{{"{s.key}": "echo", "a": [[{{"b": ["\\uDC00"]}}]]}}',
    "not-an-object": lambda s: '["\\ud800"]',
}


async def test_a_lone_surrogate_escape_is_bad_json_and_every_answer_can_be_sent(sockets: Sockets, style: Style) -> None:
    """``"\\ud800"`` is valid JSON, and pure ASCII on the wire, but escapes no character: a
    string holding it cannot be encoded as UTF-8, so it could never be sent back (daphne and
    uvicorn fail the send). docs/wire-format.md: such frames are ``bad_json``, without a ref."""
    cases = Cases(sockets, style)
    for name, build in SURROGATES.items():
        text = build(style)
        json.loads(text)  # valid JSON
        answers = await cases.answers(name, Hostile(text))
        unsendable, WIRE.unsendable[:] = list(WIRE.unsendable), []
        cases.check(name, not unsendable, f"the server tried to send frames that are not UTF-8: {unsendable!r}")
        if answers is not None:
            cases.error(name, answers, "bad_json")
    # A surrogate pair is one astral character: fine.
    pair = f'{{"{style.key}": "say", "text": "\\ud83d\\ude00", "ref": "\\ud83d\\ude00"}}'
    answers = await cases.answers("valid-pair", Hostile(pair))
    if answers is not None:
        got = [frame for _, frame in answers]
        cases.check("valid-pair", got == [style.frame("said", text="😀", ref="😀")], got)
    cases.done()


class SendsSurrogates(JSONWebSocket):
    rate_limit = None

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}

    async def on_reply(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "reply", "text": "\ud800"}

    async def on_push(self, event: dict[str, Any]) -> dict[str, Any]:
        await self.send_json({"event": "pushed", "text": "\udfff"})
        return {"event": "not reached"}


async def test_a_frame_the_server_builds_with_a_lone_surrogate_is_never_sent(connect: Connect) -> None:
    style = STYLES["subclass"]
    client = await connect(on_the_wire(SendsSurrogates.as_asgi(), WIRE))
    for name in ("reply", "push"):
        answers = await exchange(
            client, style, functools.partial(client.send_text, json.dumps({"event": name, "ref": 1}))
        )
        assert len(answers) == 1, answers
        assert check_error_frame(answers[0][0], style, "server_error")["ref"] == 1
    assert WIRE.unsendable == []
