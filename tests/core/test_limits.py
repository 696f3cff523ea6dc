"""Per-socket limits in the core: flood control before decoding, the error budget, bounded logs,
outgoing frames JSON cannot carry, and error frames that stay small whatever the client sent."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsroute import ConfigError, Dispatcher, ErrorCode, FrameNotSent, Limits, Reject, error_frame
from wsroute.dispatch import Connection
from wsroute.envelope import MAX_ERROR_FRAME
from wsroute.limits import CLOSE_FLOODING
from wsroute.testing import MemoryTransport as FakeTransport

if TYPE_CHECKING:
    from conftest import MakeTable


class Clock:
    """``time.monotonic`` for ``wsroute.limits``, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("wsroute.limits.time.monotonic", clock)
    return clock


async def pong(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "pong"}


def codes(transport: FakeTransport) -> list[str]:
    return [frame.get("code", frame["type"]) for frame in transport.frames]


def limited(make_table: MakeTable, **limits: Any) -> tuple[FakeTransport, Connection]:
    """A connection to a ``ping`` route under ``Limits(**limits)``, and its transport."""
    transport = FakeTransport()
    return transport, Dispatcher(make_table([("ping", pong)]), limits=Limits(**limits)).connect(transport, transport)


async def pings(connection: Connection, count: int) -> None:
    for _ in range(count):
        await connection.receive('{"type": "ping"}')


# --- flood control ------------------------------------------------------------------------


async def test_a_burst_passes_then_one_rate_limited_reply_per_window(make_table: MakeTable, clock: Clock) -> None:
    transport, connection = limited(make_table, rate="10/s", burst=5)
    await pings(connection, 8)
    assert codes(transport) == ["pong"] * 5 + ["rate_limited"]  # the 7th and 8th: dropped, unanswered
    clock.now += 1.0  # next window, and 10 tokens back
    await connection.receive('{"type": "ping"}')
    assert codes(transport)[-1] == "pong"
    assert transport.close_codes == []


async def test_malformed_frames_count_toward_the_rate(make_table: MakeTable, clock: Clock) -> None:
    transport = FakeTransport()
    dispatcher = Dispatcher(make_table([("ping", pong)]), limits=Limits(rate="10/s", burst=3, error_limit=None))
    connection = dispatcher.connect(transport, transport)
    for text in ["not json", "[1]", '{"type": 5}']:
        await connection.receive(text)
    await connection.receive('{"type": "ping"}')
    assert codes(transport) == ["bad_json", "bad_message", "bad_message", "rate_limited"]


async def test_three_windows_over_the_rate_in_a_row_close_with_4429(make_table: MakeTable, clock: Clock) -> None:
    transport, connection = limited(make_table, rate="2/s", burst=2)
    for _window in range(3):
        await pings(connection, 6)
        clock.now += 1.0
    assert transport.close_codes == [CLOSE_FLOODING]
    assert transport.close_reasons == ["too many frames"]
    sent = len(transport.frames)
    await connection.receive('{"type": "ping"}')  # after the close: ignored
    assert len(transport.frames) == sent


async def test_a_pause_resets_the_windows_in_a_row(make_table: MakeTable, clock: Clock) -> None:
    transport, connection = limited(make_table, rate="2/s", burst=2)
    for _round in range(4):
        await pings(connection, 5)
        clock.now += 1.0
        await pings(connection, 5)
        clock.now += 5.0  # a quiet gap: the next flood starts a new count
    assert transport.close_codes == []


async def test_rate_none_turns_flood_control_off(make_table: MakeTable, clock: Clock) -> None:
    transport, connection = limited(make_table, rate=None)
    await pings(connection, 1000)
    assert codes(transport) == ["pong"] * 1000


async def test_fifty_error_frames_in_ten_seconds_close_with_4429(make_table: MakeTable, clock: Clock) -> None:
    transport = FakeTransport()
    connection = Dispatcher(make_table([("ping", pong)]), limits=Limits(rate=None)).connect(transport, transport)
    for _ in range(49):
        await connection.receive("{")
        clock.now += 0.1
    assert transport.close_codes == []
    await connection.receive("{")
    assert transport.close_codes == [CLOSE_FLOODING]
    assert codes(transport) == ["bad_json"] * 50


async def test_errors_spread_over_time_do_not_close(make_table: MakeTable, clock: Clock) -> None:
    transport = FakeTransport()
    connection = Dispatcher(make_table([("ping", pong)]), limits=Limits(rate=None)).connect(transport, transport)
    for _ in range(200):
        await connection.receive('{"type": "nope"}')
        clock.now += 0.5  # 20 errors per 10 s
    assert transport.close_codes == []


async def test_forbidden_and_server_errors_do_not_count(make_table: MakeTable, clock: Clock) -> None:
    from wsroute import Forbidden

    async def forbidden(socket: Any, content: dict[str, Any]) -> None:
        raise Forbidden("no")

    async def crash(socket: Any, content: dict[str, Any]) -> None:
        raise RuntimeError("bug")

    transport = FakeTransport()
    dispatcher = Dispatcher(make_table([("no", forbidden), ("crash", crash)]), limits=Limits(rate=None))
    connection = dispatcher.connect(transport, transport)
    for _ in range(60):
        await connection.receive('{"type": "no"}')
        await connection.receive('{"type": "crash"}')
    assert transport.close_codes == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": "fast"},
        {"error_limit": "50 per 10s"},
        {"max_message_size": 0},
        {"burst": -1},
        {"close_after_windows": 0},
    ],
)
def test_bad_limits_are_config_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Limits(**kwargs)


# --- logs ---------------------------------------------------------------------------------


async def test_one_sockets_client_errors_are_logged_once_a_second_with_a_count(
    make_table: MakeTable, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    transport = FakeTransport()
    connection = Dispatcher(make_table([("ping", pong)]), limits=Limits(rate=None, error_limit=None)).connect(
        transport, transport
    )
    with caplog.at_level(logging.INFO, logger="wsroute"):
        for _ in range(100):
            await connection.receive('{"type": "nope"}')
        clock.now += 1.5
        await connection.receive('{"type": "nope"}')
    lines = [r.getMessage() for r in caplog.records if r.name == "wsroute"]
    assert len(lines) == 2
    assert "99 similar line(s) from this socket suppressed" in lines[1]
    assert len(codes(transport)) == 101  # every frame still got its error frame


async def test_client_text_in_log_lines_is_cut(make_table: MakeTable, caplog: pytest.LogCaptureFixture) -> None:
    transport = FakeTransport()
    connection = Dispatcher(make_table([("ping", pong)])).connect(transport, transport)
    with caplog.at_level(logging.INFO, logger="wsroute"):
        await connection.receive(json.dumps({"type": "é" * 100_000, "ref": "r" * 128}, ensure_ascii=False))
    (line,) = [r.getMessage() for r in caplog.records if r.name == "wsroute"]
    assert len(line) < 700
    assert codes(transport) == ["unknown_type"]


# --- what goes out ------------------------------------------------------------------------


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, b"bytes"])
async def test_a_reply_json_cannot_carry_is_a_server_error_and_the_socket_lives(
    make_table: MakeTable, value: object, caplog: pytest.LogCaptureFixture
) -> None:
    async def bad(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "bad", "value": value}

    transport = FakeTransport()
    connection = Dispatcher(make_table([("bad", bad), ("ping", pong)])).connect(transport, transport)
    await connection.receive('{"type": "bad", "ref": 1}')
    await connection.receive('{"type": "ping", "ref": 2}')
    assert transport.frames == [
        {"type": "ERROR", "code": "server_error", "detail": "internal server error", "ref": 1},
        {"type": "pong", "ref": 2},
    ]
    assert any(isinstance(r.exc_info[1], FrameNotSent) for r in caplog.records if r.exc_info)


async def test_a_frame_over_max_send_size_is_not_sent(make_table: MakeTable) -> None:
    sent: list[BaseException] = []

    async def big(socket: Any, content: dict[str, Any]) -> None:
        try:
            await connection.send({"type": "big", "pad": "é" * 600})  # 1,200 bytes
        except FrameNotSent as exc:
            sent.append(exc)
        await connection.send({"type": "small"})

    transport = FakeTransport()
    connection = Dispatcher(make_table([("big", big)]), limits=Limits(max_send_size=1000)).connect(transport, transport)
    await connection.receive('{"type": "big"}')
    assert transport.frames == [{"type": "small"}]
    assert "max_send_size" in str(sent[0])


async def test_a_deeply_nested_reply_is_a_server_error(make_table: MakeTable) -> None:
    async def deep(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        value: Any = 1
        for _ in range(100_000):
            value = [value]
        return {"type": "deep", "value": value}

    transport = FakeTransport()
    await Dispatcher(make_table([("deep", deep)])).connect(transport, transport).receive('{"type": "deep"}')
    assert codes(transport) == ["server_error"]


async def test_reject_reason_goes_with_the_close(make_table: MakeTable) -> None:
    async def refuse(socket: Any) -> None:
        raise Reject("room is full", code=4409)

    transport = FakeTransport()
    dispatcher = Dispatcher(make_table([("ping", pong)]))
    from wsroute.handlers import HandlerSpec

    assert not await dispatcher.connect(transport, transport).open(
        dispatcher.prepare(HandlerSpec.from_callable(refuse))
    )
    assert (transport.close_codes, transport.close_reasons) == ([4409], ["room is full"])


# --- bounded error frames -----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=3000),
    lambda children: st.lists(children, max_size=30) | st.dictionaries(st.text(max_size=2000), children, max_size=30),
    max_leaves=200,
)
pydantic_error = st.fixed_dictionaries(
    {
        "type": st.text(max_size=500),
        "loc": st.lists(st.text(max_size=5000) | st.integers(), max_size=50),
        "msg": st.text(max_size=5000),
        "input": json_values,
    }
)


@settings(max_examples=150, deadline=None)
@given(
    errors=st.lists(pydantic_error, max_size=60),
    detail=st.text(max_size=20_000),
    ref=st.none() | st.text(max_size=1000) | st.integers(),
)
def test_an_error_frame_is_at_most_8_kib_whatever_it_repeats(
    errors: list[dict[str, Any]], detail: str, ref: str | int | None
) -> None:
    frame = error_frame("type", "ERROR", ErrorCode.VALIDATION_ERROR, detail, ref, errors)
    text = json.dumps(frame, ensure_ascii=False, allow_nan=False)
    assert len(text.encode("utf-8", "surrogatepass")) <= MAX_ERROR_FRAME
    assert frame["code"] == "validation_error"
    assert len(frame["errors"]) <= 20


def test_a_small_validation_error_is_kept_whole() -> None:
    error = {"type": "int_parsing", "loc": ["n"], "msg": "Input should be a valid integer", "input": "abc"}
    frame = error_frame("type", "ERROR", ErrorCode.VALIDATION_ERROR, "1 validation error", 7, [error])
    assert frame["errors"] == [error]
    assert frame["ref"] == 7


# --- lone surrogates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        r'{"type": "ping", "ref": "\ud800"}',
        r'{"type": "ping", "text": "a\udfffb"}',
        r'{"\udc00": 1, "type": "ping"}',
        r'{"type": "ping", "list": [["\ud83d"]]}',
    ],
)
async def test_a_lone_surrogate_escape_is_bad_json_and_gets_an_answer(make_table: MakeTable, text: str) -> None:
    transport = FakeTransport()
    connection = Dispatcher(make_table([("ping", pong)])).connect(transport, transport)
    await connection.receive(text)
    await connection.receive('{"type": "ping"}')
    assert codes(transport) == ["bad_json", "pong"]
    for line in transport.log:
        line.encode("utf-8")  # what a server does: every frame sent is valid UTF-8


async def test_an_escaped_surrogate_pair_and_an_escaped_backslash_are_fine(make_table: MakeTable) -> None:
    async def echo(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "echo", "text": content["text"]}

    transport = FakeTransport()
    connection = Dispatcher(make_table([("echo", echo)])).connect(transport, transport)
    await connection.receive(r'{"type": "echo", "text": "\ud83d\ude00"}')
    await connection.receive(r'{"type": "echo", "text": "\\ud800"}')
    assert [frame["text"] for frame in transport.frames] == ["\U0001f600", "\\ud800"]


async def test_a_reply_holding_a_lone_surrogate_is_not_sent(make_table: MakeTable) -> None:
    async def bad(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "bad", "text": "\ud800"}

    transport = FakeTransport()
    await Dispatcher(make_table([("bad", bad)])).connect(transport, transport).receive('{"type": "bad", "ref": 3}')
    assert transport.frames == [{"type": "ERROR", "code": "server_error", "detail": "internal server error", "ref": 3}]
