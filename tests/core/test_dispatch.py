"""The full cycle: Dispatcher.connect(transport, receiver).receive(text)."""

from __future__ import annotations

import datetime
import json
import logging
import re
import threading
from typing import TYPE_CHECKING, Any

import pydantic
import pytest

from wsroute import (
    BadJSON,
    BadMessage,
    Dispatcher,
    ErrorCode,
    Forbidden,
    FrameNotSent,
    HandlerSpec,
    Limits,
    MessageError,
    Middleware,
    RateLimited,
    Reject,
    RouteTableBuilder,
    TooLarge,
    UnknownType,
    ValidationFailed,
)

if TYPE_CHECKING:
    from conftest import Connect, FakeSocket, FakeTransport, MakeTable

SECRET = "db-password-hunter2"


class Pong(pydantic.BaseModel):
    type: str = "pong"
    at: datetime.datetime
    tags: set[str] = set()


class NotAllowed(Forbidden):
    """A user-defined MessageError subclass."""


def error_records(caplog: pytest.LogCaptureFixture, exc_type: type[BaseException]) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "wsroute" and record.levelno >= logging.ERROR and record.exc_info is not None
        if record.exc_info[0] is exc_type
    ]


# --- replies ------------------------------------------------------------------------------


async def test_reply_carries_the_requests_ref(
    make_table: MakeTable, connect: Connect, transport: FakeTransport
) -> None:
    def on_ping(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "pong", "echo": content}

    connection = connect(Dispatcher(make_table([("ping", on_ping)])))
    await connection.receive('{"type": "ping", "ref": "req-1", "n": 1}')
    await connection.receive('{"type": "ping", "ref": 2}')
    await connection.receive('{"type": "ping"}')
    assert transport.frames == [
        {"type": "pong", "echo": {"type": "ping", "ref": "req-1", "n": 1}, "ref": "req-1"},
        {"type": "pong", "echo": {"type": "ping", "ref": 2}, "ref": 2},
        {"type": "pong", "echo": {"type": "ping"}},
    ]
    assert transport.close_codes == []


async def test_handler_gets_the_receiver_first(make_table: MakeTable, connect: Connect, receiver: FakeSocket) -> None:
    async def on_ping(socket: Any, content: dict[str, Any]) -> None:
        socket.events.append(socket)

    await connect(Dispatcher(make_table([("ping", on_ping)]))).receive('{"type": "ping"}')
    assert receiver.events == [receiver]


async def test_pydantic_model_return_value_is_dumped_as_json(
    make_table: MakeTable, connect: Connect, transport: FakeTransport
) -> None:
    at = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC)

    async def on_ping(socket: Any, content: dict[str, Any]) -> Pong:
        return Pong(at=at, tags={"a"})

    connection = connect(Dispatcher(make_table([("ping", on_ping)])))
    await connection.receive('{"type": "ping", "ref": 7}')
    assert transport.frames == [{"type": "pong", "at": "2024-05-01T12:30:00Z", "tags": ["a"], "ref": 7}]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_none_return_sends_nothing(
    asynchronous: bool, make_table: MakeTable, connect: Connect, transport: FakeTransport, receiver: FakeSocket
) -> None:
    def sync_handler(socket: Any, content: dict[str, Any]) -> None:
        socket.events.append("ran")

    async def async_handler(socket: Any, content: dict[str, Any]) -> None:
        socket.events.append("ran")

    handler = async_handler if asynchronous else sync_handler
    await connect(Dispatcher(make_table([("ping", handler)]))).receive('{"type": "ping", "ref": 1}')
    assert receiver.events == ["ran"]
    assert transport.frames == []


@pytest.mark.parametrize("result", [[1, 2], "pong", 3, True, ("a",), object()], ids=repr)
async def test_non_dict_return_is_a_server_error(
    result: object,
    make_table: MakeTable,
    connect: Connect,
    transport: FakeTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def on_ping(socket: Any, content: dict[str, Any]) -> Any:
        return result

    await connect(Dispatcher(make_table([("ping", on_ping)]))).receive('{"type": "ping", "ref": "x"}')
    assert transport.frames == [
        {"type": "ERROR", "code": "server_error", "detail": "internal server error", "ref": "x"}
    ]
    [record] = error_records(caplog, TypeError)
    assert "on_ping" in record.getMessage()


async def test_reply_the_transport_cannot_serialise_is_a_server_error(
    make_table: MakeTable, connect: Connect, transport: FakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    # the transport serialises (as a Channels consumer does); a failure there must not escape receive()
    async def on_ping(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "pong", "at": datetime.datetime(2024, 1, 1)}

    await connect(Dispatcher(make_table([("ping", on_ping)]))).receive('{"type": "ping", "ref": 1}')
    assert transport.frames == [{"type": "ERROR", "code": "server_error", "detail": "internal server error", "ref": 1}]
    assert error_records(caplog, FrameNotSent)


# --- handler errors -----------------------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_handler_exception_is_a_server_error_without_its_text(
    asynchronous: bool,
    make_table: MakeTable,
    connect: Connect,
    transport: FakeTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def sync_handler(socket: Any, content: dict[str, Any]) -> None:
        raise RuntimeError(SECRET)

    async def async_handler(socket: Any, content: dict[str, Any]) -> None:
        raise RuntimeError(SECRET)

    handler = async_handler if asynchronous else sync_handler
    connection = connect(Dispatcher(make_table([("boom", handler)])))
    await connection.receive('{"type": "boom", "ref": 41}')

    [frame] = transport.frames
    assert frame["type"] == "ERROR"
    assert frame["code"] == "server_error"
    assert frame["ref"] == 41
    assert SECRET not in frame["detail"]
    assert "RuntimeError" not in frame["detail"]
    assert SECRET not in json.dumps(frame)
    assert "Traceback" not in json.dumps(frame)

    [record] = error_records(caplog, RuntimeError)
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == SECRET
    assert record.exc_info[2] is not None
    assert handler.__qualname__ in record.getMessage()
    assert transport.close_codes == []

    # the connection stays usable
    await connection.receive('{"type": "boom", "ref": 42}')
    assert [f["ref"] for f in transport.frames] == [41, 42]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_message_error_subclass_raised_by_a_handler(
    asynchronous: bool, make_table: MakeTable, connect: Connect, transport: FakeTransport
) -> None:
    def sync_handler(socket: Any, content: dict[str, Any]) -> None:
        raise NotAllowed("only the room owner may kick")

    async def async_handler(socket: Any, content: dict[str, Any]) -> None:
        raise NotAllowed("only the room owner may kick")

    handler = async_handler if asynchronous else sync_handler
    await connect(Dispatcher(make_table([("kick", handler)]))).receive('{"type": "kick", "ref": "k"}')
    assert transport.frames == [
        {"type": "ERROR", "code": "forbidden", "detail": "only the room owner may kick", "ref": "k"}
    ]


@pytest.mark.parametrize(
    "error",
    [
        BadJSON("j"),
        BadMessage("m"),
        UnknownType("u"),
        Forbidden("f"),
        RateLimited("r"),
        TooLarge("t"),
        ValidationFailed("v", [{"type": "missing", "loc": ["x"], "msg": "Field required"}]),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_every_message_error_gives_its_code_and_detail(
    error: MessageError, make_table: MakeTable, connect: Connect, transport: FakeTransport
) -> None:
    async def handler(socket: Any, content: dict[str, Any]) -> None:
        raise error

    await connect(Dispatcher(make_table([("x", handler)]))).receive('{"type": "x", "ref": 1}')
    [frame] = transport.frames
    assert frame["code"] == error.code.value
    assert frame["detail"] == error.detail
    assert frame["ref"] == 1
    if isinstance(error, ValidationFailed):
        assert frame["errors"] == error.errors
    else:
        assert "errors" not in frame


# --- threads ------------------------------------------------------------------------------


async def test_sync_handlers_run_in_a_worker_thread_async_ones_on_the_loop(
    make_table: MakeTable, connect: Connect, receiver: FakeSocket
) -> None:
    def sync_handler(socket: Any, content: dict[str, Any]) -> None:
        socket.events.append(("sync", threading.get_ident()))

    async def async_handler(socket: Any, content: dict[str, Any]) -> None:
        socket.events.append(("async", threading.get_ident()))

    connection = connect(Dispatcher(make_table([("sync", sync_handler), ("async", async_handler)])))
    await connection.receive('{"type": "sync"}')
    await connection.receive('{"type": "async"}')
    loop_thread = threading.get_ident()
    [(_, sync_thread), (_, async_thread)] = receiver.events
    assert sync_thread != loop_thread
    assert async_thread == loop_thread


async def test_custom_sync_runner_is_used_for_sync_handlers(make_table: MakeTable, connect: Connect) -> None:
    wrapped: list[str] = []

    def runner(fn: Any) -> Any:
        wrapped.append(fn.__name__)

        async def run(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        return run

    def sync_handler(socket: Any, content: dict[str, Any]) -> None:
        pass

    async def async_handler(socket: Any, content: dict[str, Any]) -> None:
        pass

    # wrapped once, when the dispatcher is built, and only the sync handler
    Dispatcher(make_table([("s", sync_handler), ("a", async_handler)]), run_sync=runner)
    assert wrapped == ["sync_handler"]


# --- malformed input ----------------------------------------------------------------------


async def test_binary_frame_is_bad_message(make_table: MakeTable, connect: Connect, transport: FakeTransport) -> None:
    async def on_ping(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "pong"}

    connection = connect(Dispatcher(make_table([("ping", on_ping)])))
    await connection.receive(None, b'{"type": "ping"}')
    await connection.receive(bytes_data=b"\x00\x01")
    await connection.receive()
    assert [frame["code"] for frame in transport.frames] == ["bad_message"] * 3
    assert all(frame["type"] == "ERROR" for frame in transport.frames)
    assert transport.close_codes == []


@pytest.mark.parametrize(
    ("text", "code", "ref"),
    [
        pytest.param("{nope", ErrorCode.BAD_JSON, None, id="bad-json"),
        pytest.param("[" * 50_000 + "]" * 50_000, ErrorCode.BAD_JSON, None, id="deep-json"),
        pytest.param("[1, 2]", ErrorCode.BAD_MESSAGE, None, id="array"),
        pytest.param('{"ref": 3}', ErrorCode.BAD_MESSAGE, 3, id="missing-key"),
        pytest.param('{"type": 1, "ref": "a"}', ErrorCode.BAD_MESSAGE, "a", id="int-key"),
        pytest.param('{"type": "ping", "ref": true}', ErrorCode.BAD_MESSAGE, None, id="bool-ref"),
        pytest.param('{"type": "ping", "ref": 1.5}', ErrorCode.BAD_MESSAGE, None, id="float-ref"),
        pytest.param('{"type": "nope", "ref": 9}', ErrorCode.UNKNOWN_TYPE, 9, id="unknown-type"),
    ],
)
async def test_malformed_frames_get_one_error_frame(
    text: str,
    code: ErrorCode,
    ref: Any,
    make_table: MakeTable,
    connect: Connect,
    transport: FakeTransport,
    receiver: FakeSocket,
) -> None:
    async def on_ping(socket: Any, content: dict[str, Any]) -> None:
        socket.events.append("ran")

    await connect(Dispatcher(make_table([("ping", on_ping)]))).receive(text)
    [frame] = transport.frames
    assert frame["type"] == "ERROR"
    assert frame["code"] == code.value
    assert frame.get("ref") == ref
    assert receiver.events == []
    assert transport.close_codes == []


async def test_unknown_type_names_the_type(make_table: MakeTable, connect: Connect, transport: FakeTransport) -> None:
    async def on_ping(socket: Any, content: dict[str, Any]) -> None:
        pass

    await connect(Dispatcher(make_table([("ping", on_ping)]))).receive('{"type": "pnig"}')
    assert transport.frames == [{"type": "ERROR", "code": "unknown_type", "detail": "no route for type 'pnig'"}]


async def test_max_message_size(make_table: MakeTable, connect: Connect, transport: FakeTransport) -> None:
    async def on_ping(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "pong"}

    fits = '{"type": "ping", "pad": ""}'
    connection = connect(Dispatcher(make_table([("ping", on_ping)]), max_message_size=len(fits)))
    await connection.receive(fits)
    await connection.receive('{"type": "ping", "pad": "x", "ref": 1}')
    assert transport.frames[0] == {"type": "pong"}
    too_large = transport.frames[1]
    assert too_large["type"] == "ERROR"
    assert too_large["code"] == "too_large"
    assert transport.close_codes == []


async def test_default_size_limit_is_512_kib_of_utf8_bytes(
    make_table: MakeTable, connect: Connect, transport: FakeTransport
) -> None:
    async def on_ping(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "pong", "n": len(content["pad"])}

    connection = connect(Dispatcher(make_table([("ping", on_ping)])))
    await connection.receive(json.dumps({"type": "ping", "pad": "x" * 500_000}))
    # 200,000 characters, but 400,000 bytes of UTF-8 plus the same again: over 512 KiB on the wire
    await connection.receive(json.dumps({"type": "ping", "pad": "é" * 270_000}, ensure_ascii=False))
    assert transport.frames[0] == {"type": "pong", "n": 500_000}
    assert transport.frames[1]["code"] == "too_large"


async def test_size_limit_can_be_turned_off(make_table: MakeTable, connect: Connect, transport: FakeTransport) -> None:
    async def on_ping(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "pong", "n": len(content["pad"])}

    dispatcher = Dispatcher(make_table([("ping", on_ping)]), limits=Limits(max_message_size=None))
    await connect(dispatcher).receive(json.dumps({"type": "ping", "pad": "x" * 1_000_000}))
    assert transport.frames == [{"type": "pong", "n": 1_000_000}]


# --- routing key and error value ----------------------------------------------------------


async def test_custom_key_and_error_value(make_table: MakeTable, connect: Connect, transport: FakeTransport) -> None:
    async def on_join(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"event": "joined", "room": content["room"]}

    connection = connect(Dispatcher(make_table([("join", on_join)]), key="event", error_value="error"))
    await connection.receive('{"event": "join", "room": "lobby", "ref": 1}')
    await connection.receive('{"event": "leave", "ref": 2}')
    await connection.receive('{"type": "join", "ref": 3}')
    assert transport.frames == [
        {"event": "joined", "room": "lobby", "ref": 1},
        {"event": "error", "code": "unknown_type", "detail": "no route for event 'leave'", "ref": 2},
        {"event": "error", "code": "bad_message", "detail": "message has no 'event' key", "ref": 3},
    ]


async def test_action_as_routing_key(make_table: MakeTable, connect: Connect, transport: FakeTransport) -> None:
    async def on_buy(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"action": "bought"}

    connection = connect(Dispatcher(make_table([("buy", on_buy)]), key="action"))
    await connection.receive('{"action": "buy"}')
    await connection.receive("null")
    assert transport.frames[0] == {"action": "bought"}
    assert transport.frames[1]["action"] == "ERROR"
    assert transport.frames[1]["code"] == "bad_message"


# --- routes through the dispatcher --------------------------------------------------------


async def test_regex_route_gets_its_match(make_table: MakeTable, connect: Connect, transport: FakeTransport) -> None:
    async def on_room(socket: Any, content: dict[str, Any], *, match: re.Match[str] | None) -> dict[str, Any]:
        assert match is not None
        return {"type": "room", "name": match["name"]}

    def on_exact(socket: Any, content: dict[str, Any], match: re.Match[str] | None = None) -> dict[str, Any]:
        return {"type": "exact", "match": match}

    table = make_table([(re.compile(r"room\.(?P<name>\w+)"), on_room), ("room.lobby", on_exact)])
    connection = connect(Dispatcher(table))
    await connection.receive('{"type": "room.kitchen"}')
    await connection.receive('{"type": "room.lobby"}')
    assert transport.frames == [{"type": "room", "name": "kitchen"}, {"type": "exact", "match": None}]


async def test_default_route_gets_the_content(make_table: MakeTable, connect: Connect, receiver: FakeSocket) -> None:
    def default_route(socket: Any, content: dict[str, Any] | None = None) -> None:
        socket.events.append(content)

    await connect(Dispatcher(make_table([], default=default_route))).receive('{"type": "anything", "x": 1}')
    assert receiver.events == [{"type": "anything", "x": 1}]


async def test_handler_without_content_is_called_without_one(
    make_table: MakeTable, connect: Connect, receiver: FakeSocket
) -> None:
    def on_notify(socket: Any) -> None:
        socket.events.append("notified")

    await connect(Dispatcher(make_table([("notify", on_notify)]))).receive('{"type": "notify"}')
    assert receiver.events == ["notified"]


async def test_messages_are_handled_in_order(
    make_table: MakeTable, connect: Connect, receiver: FakeSocket, transport: FakeTransport
) -> None:
    def sync_step(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        socket.events.append(content["n"])
        return {"type": "done", "n": content["n"]}

    async def async_step(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        socket.events.append(content["n"])
        return {"type": "done", "n": content["n"]}

    connection = connect(Dispatcher(make_table([("sync", sync_step), ("async", async_step)])))
    for n in range(20):
        await connection.receive(json.dumps({"type": "sync" if n % 3 else "async", "n": n}))
    assert receiver.events == list(range(20))
    assert [frame["n"] for frame in transport.frames] == list(range(20))


# --- lifecycle hooks and server-side events -----------------------------------------------


async def test_connect_hook_runs_after_middleware(
    make_table: MakeTable, connect: Connect, receiver: FakeSocket
) -> None:
    def on_connect(socket: Any) -> None:
        socket.events.append("connected")

    dispatcher = Dispatcher(make_table())
    connection = connect(dispatcher)
    assert await connection.open(dispatcher.prepare(HandlerSpec.from_callable(on_connect))) is True
    assert receiver.events == ["connected"]


async def test_disconnect_hook_gets_the_code_only_if_it_asks(
    make_table: MakeTable, connect: Connect, receiver: FakeSocket
) -> None:
    async def with_code(socket: Any, code: int) -> None:
        socket.events.append(("with", code))

    def without_code(socket: Any) -> None:
        socket.events.append(("without",))

    dispatcher = Dispatcher(make_table())
    connection = connect(dispatcher)
    assert await connection.open()
    await connection.close(4000, dispatcher.prepare(HandlerSpec.from_callable(with_code)))
    await connection.close(1000, dispatcher.prepare(HandlerSpec.from_callable(without_code)))
    assert receiver.events == [("with", 4000), ("without",)]


async def test_disconnect_hook_skipped_when_a_middleware_refused_the_socket(
    make_table: MakeTable, connect: Connect, receiver: FakeSocket
) -> None:
    class Gate(Middleware):
        def on_connect(self) -> None:
            raise Reject("no")

    def on_disconnect(socket: Any, code: int) -> None:
        socket.events.append(("disconnected", code))

    dispatcher = Dispatcher(make_table(), middlewares=[Gate])
    connection = connect(dispatcher)
    assert not await connection.open()
    await connection.close(4403, dispatcher.prepare(HandlerSpec.from_callable(on_disconnect)))
    assert receiver.events == []


async def test_disconnect_hook_exception_is_logged(
    make_table: MakeTable, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    def on_disconnect(socket: Any) -> None:
        raise RuntimeError(SECRET)

    dispatcher = Dispatcher(make_table())
    connection = connect(dispatcher)
    assert await connection.open()
    await connection.close(1000, dispatcher.prepare(HandlerSpec.from_callable(on_disconnect)))
    assert error_records(caplog, RuntimeError)


async def test_run_event_runs_the_route_and_sends_nothing(
    make_table: MakeTable, connect: Connect, receiver: FakeSocket, transport: FakeTransport
) -> None:
    def on_refresh(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        socket.events.append(content)
        return {"type": "ignored"}

    connection = connect(Dispatcher(make_table([("refresh", on_refresh)])))
    await connection.run_event("refresh", {"type": "refresh", "n": 1})
    assert receiver.events == [{"type": "refresh", "n": 1}]
    assert transport.frames == []


async def test_run_event_failures_are_logged_not_sent(
    make_table: MakeTable, connect: Connect, transport: FakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    async def on_refresh(socket: Any, content: dict[str, Any]) -> None:
        raise RuntimeError(SECRET)

    connection = connect(Dispatcher(make_table([("refresh", on_refresh)])))
    await connection.run_event("refresh", {"type": "refresh"})
    with caplog.at_level(logging.WARNING, logger="wsroute"):
        await connection.run_event("unknown", {})
    assert transport.frames == []
    assert error_records(caplog, RuntimeError)
    assert any("unknown" in record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)


async def test_schema_route_through_the_dispatcher(connect: Connect, transport: FakeTransport) -> None:
    class Chat(pydantic.BaseModel):
        text: str

    async def on_chat(socket: Any, content: Any) -> dict[str, Any]:
        return {"type": "chat", "text": content.text.upper()}

    builder = RouteTableBuilder()
    builder.add("chat", on_chat, schema=Chat)
    connection = connect(Dispatcher(builder.build()))
    await connection.receive('{"type": "chat", "text": "hi", "ref": 1}')
    await connection.receive('{"type": "chat", "ref": 2}')
    assert transport.frames[0] == {"type": "chat", "text": "HI", "ref": 1}
    assert transport.frames[1]["code"] == "validation_error"
    assert transport.frames[1]["ref"] == 2
