"""The middleware pipeline and the built-in rate limiter."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pytest

from wsroute import DROP, ConfigError, Dispatcher, Forbidden, HandlerSpec, Middleware, Pipeline, Reject
from wsroute.contrib import RateLimitMiddleware, parse_rate, ratelimit
from wsroute.dispatch import thread_runner

if TYPE_CHECKING:
    from conftest import Connect, FakeSocket, FakeTransport, MakeTable


SECRET = "s3cr3t-middleware-detail"


def recording(name: str, *, asynchronous: bool) -> type[Middleware]:
    """A middleware that records each hook it runs in ``consumer.events``."""
    if asynchronous:

        class AsyncRecorder(Middleware):
            async def on_connect(self) -> None:
                self.consumer.events.append(("connect", name))

            async def on_receive(self, content: dict[str, Any]) -> None:
                self.consumer.events.append(("receive", name))

            async def on_send(self, content: dict[str, Any]) -> None:
                self.consumer.events.append(("send", name))

            async def on_disconnect(self, code: int) -> None:
                self.consumer.events.append(("disconnect", name, code))

        return AsyncRecorder

    class SyncRecorder(Middleware):
        def on_connect(self) -> None:
            self.consumer.events.append(("connect", name))

        def on_receive(self, content: dict[str, Any]) -> None:
            self.consumer.events.append(("receive", name))

        def on_send(self, content: dict[str, Any]) -> None:
            self.consumer.events.append(("send", name))

        def on_disconnect(self, code: int) -> None:
            self.consumer.events.append(("disconnect", name, code))

    return SyncRecorder


def on_ping(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
    socket.events.append(("handler", content["type"]))
    return {"type": "pong"}


async def on_async_ping(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
    socket.events.append(("handler", content["type"]))
    return {"type": "pong", "content": content}


def error_records(caplog: pytest.LogCaptureFixture, exc_type: type[BaseException]) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "wsroute"
        and record.levelno >= logging.ERROR
        and record.exc_info is not None
        and record.exc_info[0] is exc_type
    ]


# --- order --------------------------------------------------------------------------------


async def test_list_order_for_connect_and_receive_reverse_for_send_and_disconnect(
    make_table: MakeTable, connect: Connect, receiver: FakeSocket, transport: FakeTransport
) -> None:
    middlewares = [
        recording("A", asynchronous=False),
        recording("B", asynchronous=True),
        recording("C", asynchronous=False),
    ]
    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=middlewares))
    assert await connection.open() is True
    await connection.receive('{"type": "ping"}')
    await connection.close(1001)
    assert receiver.events == [
        ("connect", "A"),
        ("connect", "B"),
        ("connect", "C"),
        ("receive", "A"),
        ("receive", "B"),
        ("receive", "C"),
        ("handler", "ping"),
        ("send", "C"),
        ("send", "B"),
        ("send", "A"),
        ("disconnect", "C", 1001),
        ("disconnect", "B", 1001),
        ("disconnect", "A", 1001),
    ]
    assert transport.frames == [{"type": "pong"}]
    assert transport.close_codes == []


async def test_middleware_is_instantiated_per_connection_with_consumer_and_scope(
    make_table: MakeTable, receiver: FakeSocket, transport: FakeTransport
) -> None:
    seen: list[Middleware] = []

    class Remember(Middleware):
        def on_connect(self) -> None:
            seen.append(self)

    dispatcher = Dispatcher(make_table([("ping", on_ping)]), middlewares=[Remember])
    await dispatcher.connect(transport, receiver).open()
    await dispatcher.connect(transport, receiver).open()
    first, second = seen
    assert first is not second
    assert first.consumer is receiver
    assert first.scope is transport.scope


async def test_hooks_a_class_does_not_define_are_not_called(
    make_table: MakeTable, connect: Connect, receiver: FakeSocket, transport: FakeTransport
) -> None:
    class OnlySend(Middleware):
        def on_send(self, content: dict[str, Any]) -> dict[str, Any]:
            return {**content, "stamped": True}

    class Nothing(Middleware):
        pass

    pipeline = Pipeline.build([Nothing, OnlySend], thread_runner)
    assert pipeline.connect == ()
    assert pipeline.receive == ()
    assert pipeline.disconnect == ()
    assert [index for index, _ in pipeline.send] == [1]

    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[Nothing, OnlySend]))
    assert await connection.open() is True
    await connection.receive('{"type": "ping"}')
    await connection.close(1000)
    assert transport.frames == [{"type": "pong", "stamped": True}]
    assert receiver.events == [("handler", "ping")]


def test_middlewares_must_be_classes() -> None:
    class Fine(Middleware):
        def on_receive(self, content: dict[str, Any]) -> None:
            pass

    with pytest.raises(ConfigError):
        Pipeline.build([Fine(None, {})], thread_runner)  # type: ignore[list-item]


def test_a_hook_that_is_not_callable_is_a_config_error() -> None:
    class Broken(Middleware):
        on_receive = "not a method"

    with pytest.raises(ConfigError, match="on_receive"):
        Pipeline.build([Broken], thread_runner)


# --- on_receive ---------------------------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_on_receive_can_change_the_message(
    asynchronous: bool, make_table: MakeTable, connect: Connect, receiver: FakeSocket, transport: FakeTransport
) -> None:
    def rewrite(content: dict[str, Any]) -> dict[str, Any]:
        return {**content, "type": "new", "added": 1}

    if asynchronous:

        class Rewrite(Middleware):
            async def on_receive(self, content: dict[str, Any]) -> dict[str, Any]:
                return rewrite(content)

    else:

        class Rewrite(Middleware):  # type: ignore[no-redef]
            def on_receive(self, content: dict[str, Any]) -> dict[str, Any]:
                return rewrite(content)

    class Keep(Middleware):
        def on_receive(self, content: dict[str, Any]) -> None:
            self.consumer.events.append(("keep saw", content["type"]))

    connection = connect(
        Dispatcher(make_table([("old", on_ping), ("new", on_async_ping)]), middlewares=[Rewrite, Keep])
    )
    await connection.receive('{"type": "old", "ref": "r"}')
    # the next middleware and the router both see the changed message
    assert receiver.events == [("keep saw", "new"), ("handler", "new")]
    assert transport.frames == [{"type": "pong", "content": {"type": "new", "added": 1, "ref": "r"}, "ref": "r"}]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_on_receive_can_drop_the_message(
    asynchronous: bool, make_table: MakeTable, connect: Connect, receiver: FakeSocket, transport: FakeTransport
) -> None:
    if asynchronous:

        class Drop(Middleware):
            async def on_receive(self, content: dict[str, Any]) -> Any:
                return DROP if content.get("spam") else None

    else:

        class Drop(Middleware):  # type: ignore[no-redef]
            def on_receive(self, content: dict[str, Any]) -> Any:
                return DROP if content.get("spam") else None

    after = recording("after", asynchronous=True)
    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[Drop, after]))
    await connection.receive('{"type": "ping", "spam": true, "ref": 1}')
    assert receiver.events == []
    assert transport.frames == []

    await connection.receive('{"type": "ping", "ref": 2}')
    assert receiver.events == [("receive", "after"), ("handler", "ping"), ("send", "after")]
    assert transport.frames == [{"type": "pong", "ref": 2}]


async def test_on_receive_removing_the_routing_key_is_bad_message(
    make_table: MakeTable, connect: Connect, receiver: FakeSocket, transport: FakeTransport
) -> None:
    class Strip(Middleware):
        def on_receive(self, content: dict[str, Any]) -> dict[str, Any]:
            return {"other": 1}

    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[Strip]))
    await connection.receive('{"type": "ping", "ref": 5}')
    assert receiver.events == []
    [frame] = transport.frames
    assert frame["code"] == "bad_message"
    assert frame["ref"] == 5


async def test_on_receive_returning_a_non_dict_is_a_server_error(
    make_table: MakeTable,
    connect: Connect,
    receiver: FakeSocket,
    transport: FakeTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Wrong(Middleware):
        def on_receive(self, content: dict[str, Any]) -> list[str]:
            return ["not", "a", "dict"]

    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[Wrong]))
    await connection.receive('{"type": "ping", "ref": 5}')
    assert receiver.events == []
    assert transport.frames == [{"type": "ERROR", "code": "server_error", "detail": "internal server error", "ref": 5}]
    assert error_records(caplog, TypeError)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_exception_in_on_receive_is_a_server_error_and_logged(
    asynchronous: bool,
    make_table: MakeTable,
    connect: Connect,
    receiver: FakeSocket,
    transport: FakeTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if asynchronous:

        class Boom(Middleware):
            async def on_receive(self, content: dict[str, Any]) -> None:
                raise RuntimeError(SECRET)

    else:

        class Boom(Middleware):  # type: ignore[no-redef]
            def on_receive(self, content: dict[str, Any]) -> None:
                raise RuntimeError(SECRET)

    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[Boom]))
    await connection.receive('{"type": "ping", "ref": "abc"}')
    assert receiver.events == []
    [frame] = transport.frames
    assert frame == {"type": "ERROR", "code": "server_error", "detail": "internal server error", "ref": "abc"}
    assert SECRET not in json.dumps(frame)
    [record] = error_records(caplog, RuntimeError)
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == SECRET
    assert record.exc_info[2] is not None  # the traceback is logged
    assert transport.close_codes == []

    # the socket keeps working
    await connection.receive('{"type": "ping", "ref": "next"}')
    assert len(transport.frames) == 2


async def test_message_error_in_on_receive_is_sent_with_its_code(
    make_table: MakeTable, connect: Connect, receiver: FakeSocket, transport: FakeTransport
) -> None:
    class Guard(Middleware):
        def on_receive(self, content: dict[str, Any]) -> None:
            raise Forbidden("admins only")

    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[Guard]))
    await connection.receive('{"type": "ping", "ref": 8}')
    assert receiver.events == []
    assert transport.frames == [{"type": "ERROR", "code": "forbidden", "detail": "admins only", "ref": 8}]


# --- on_send ------------------------------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_on_send_can_change_the_frame(
    asynchronous: bool, make_table: MakeTable, connect: Connect, transport: FakeTransport
) -> None:
    if asynchronous:

        class Stamp(Middleware):
            async def on_send(self, content: dict[str, Any]) -> dict[str, Any]:
                return {**content, "stamp": "async"}

    else:

        class Stamp(Middleware):  # type: ignore[no-redef]
            def on_send(self, content: dict[str, Any]) -> dict[str, Any]:
                return {**content, "stamp": "sync"}

    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[Stamp]))
    await connection.receive('{"type": "ping", "ref": 1}')
    await connection.receive('{"type": "nope", "ref": 2}')
    stamp = "async" if asynchronous else "sync"
    assert transport.frames[0] == {"type": "pong", "ref": 1, "stamp": stamp}
    # error frames go through on_send too
    assert transport.frames[1]["code"] == "unknown_type"
    assert transport.frames[1]["stamp"] == stamp


async def test_on_send_runs_in_reverse_order_and_each_sees_the_previous_change(
    make_table: MakeTable, connect: Connect, transport: FakeTransport
) -> None:
    class Outer(Middleware):
        def on_send(self, content: dict[str, Any]) -> dict[str, Any]:
            return {**content, "path": [*content.get("path", []), "outer"]}

    class Inner(Middleware):
        async def on_send(self, content: dict[str, Any]) -> dict[str, Any]:
            return {**content, "path": [*content.get("path", []), "inner"]}

    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[Outer, Inner]))
    await connection.receive('{"type": "ping"}')
    assert transport.frames == [{"type": "pong", "path": ["inner", "outer"]}]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_on_send_can_drop_the_frame(
    asynchronous: bool, make_table: MakeTable, connect: Connect, receiver: FakeSocket, transport: FakeTransport
) -> None:
    if asynchronous:

        class Mute(Middleware):
            async def on_send(self, content: dict[str, Any]) -> Any:
                return DROP if content.get("type") == "pong" else None

    else:

        class Mute(Middleware):  # type: ignore[no-redef]
            def on_send(self, content: dict[str, Any]) -> Any:
                return DROP if content.get("type") == "pong" else None

    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[Mute]))
    await connection.receive('{"type": "ping"}')
    assert receiver.events == [("handler", "ping")]
    assert transport.frames == []
    await connection.receive('{"type": "nope"}')
    assert [frame["code"] for frame in transport.frames] == ["unknown_type"]


async def test_exception_in_on_send_sends_server_error_and_is_logged(
    make_table: MakeTable, connect: Connect, transport: FakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    class Boom(Middleware):
        def on_send(self, content: dict[str, Any]) -> None:
            raise ValueError(SECRET)

    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[Boom]))
    await connection.receive('{"type": "ping", "ref": 3}')
    assert transport.frames == [{"type": "ERROR", "code": "server_error", "detail": "internal server error", "ref": 3}]
    assert error_records(caplog, ValueError)


# --- on_connect / on_disconnect ------------------------------------------------------------


@pytest.mark.parametrize(
    ("reject", "code"),
    [
        pytest.param(Reject(), 4403, id="default"),
        pytest.param(Reject("banned"), 4403, id="reason"),
        pytest.param(Reject("login first", code=4401), 4401, id="custom-code"),
    ],
)
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_reject_from_on_connect_closes_with_its_code(
    reject: Reject,
    code: int,
    asynchronous: bool,
    make_table: MakeTable,
    connect: Connect,
    receiver: FakeSocket,
    transport: FakeTransport,
) -> None:
    if asynchronous:

        class Gate(Middleware):
            async def on_connect(self) -> None:
                raise reject

    else:

        class Gate(Middleware):  # type: ignore[no-redef]
            def on_connect(self) -> None:
                raise reject

    later = recording("later", asynchronous=True)

    def on_connect(socket: Any) -> None:
        socket.events.append("connect hook")

    dispatcher = Dispatcher(make_table([("ping", on_ping)]), middlewares=[Gate, later])
    connection = connect(dispatcher)
    assert await connection.open(dispatcher.prepare(HandlerSpec.from_callable(on_connect))) is False
    assert transport.close_codes == [code]
    # neither later middleware nor the connect hook ran
    assert receiver.events == []
    assert transport.frames == []


async def test_reject_from_the_connect_hook_closes_4403(
    make_table: MakeTable, connect: Connect, transport: FakeTransport
) -> None:
    async def on_connect(socket: Any) -> None:
        raise Reject("not today")

    dispatcher = Dispatcher(make_table([("ping", on_ping)]))
    connection = connect(dispatcher)
    assert await connection.open(dispatcher.prepare(HandlerSpec.from_callable(on_connect))) is False
    assert transport.close_codes == [4403]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_exception_in_on_connect_closes_4500_and_is_logged(
    asynchronous: bool,
    make_table: MakeTable,
    connect: Connect,
    transport: FakeTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if asynchronous:

        class Boom(Middleware):
            async def on_connect(self) -> None:
                raise KeyError(SECRET)

    else:

        class Boom(Middleware):  # type: ignore[no-redef]
            def on_connect(self) -> None:
                raise KeyError(SECRET)

    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[Boom]))
    assert await connection.open() is False
    assert transport.close_codes == [4500]
    assert transport.frames == []
    [record] = error_records(caplog, KeyError)
    assert record.exc_info is not None
    assert record.exc_info[2] is not None


async def test_exception_in_on_disconnect_is_logged_and_the_others_still_run(
    make_table: MakeTable,
    connect: Connect,
    receiver: FakeSocket,
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Boom(Middleware):
        def on_disconnect(self, code: int) -> None:
            raise RuntimeError(SECRET)

    first = recording("first", asynchronous=False)
    last = recording("last", asynchronous=True)
    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[first, Boom, last]))
    assert await connection.open()
    await connection.close(1000)
    # a failing cleanup hook must not skip the others' cleanup
    assert [event for event in receiver.events if event[0] == "disconnect"] == [
        ("disconnect", "last", 1000),
        ("disconnect", "first", 1000),
    ]
    assert error_records(caplog, RuntimeError)


async def test_no_on_disconnect_for_a_connection_that_never_opened(
    make_table: MakeTable, connect: Connect, receiver: FakeSocket
) -> None:
    # e.g. the consumer's setup (its Socket row) failed or was cancelled before open()
    first = recording("first", asynchronous=False)
    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[first]))
    await connection.close(1006)
    assert receiver.events == []


# --- rate limiting ------------------------------------------------------------------------


class FakeClock:
    """Stands in for the ``time`` module inside ``wsroute.contrib.ratelimit``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(ratelimit, "time", fake)
    return fake


async def test_rate_limit_answers_rate_limited_after_the_burst_and_the_socket_keeps_working(
    make_table: MakeTable,
    connect: Connect,
    receiver: FakeSocket,
    transport: FakeTransport,
    clock: FakeClock,
) -> None:
    dispatcher = Dispatcher(make_table([("ping", on_ping)]), middlewares=[RateLimitMiddleware.with_rate("3/s")])
    connection = connect(dispatcher)
    assert await connection.open() is True
    for ref in range(5):
        await connection.receive(json.dumps({"type": "ping", "ref": ref}))
    assert transport.frames[:3] == [{"type": "pong", "ref": 0}, {"type": "pong", "ref": 1}, {"type": "pong", "ref": 2}]
    assert [(frame["code"], frame["ref"]) for frame in transport.frames[3:]] == [
        ("rate_limited", 3),
        ("rate_limited", 4),
    ]
    assert "3/s" in transport.frames[3]["detail"]
    assert len(receiver.events) == 3
    assert transport.close_codes == []

    # a second later the bucket is full again
    clock.now += 1.0
    for ref in range(5, 9):
        await connection.receive(json.dumps({"type": "ping", "ref": ref}))
    assert [frame.get("code", frame["type"]) for frame in transport.frames[5:]] == [
        "pong",
        "pong",
        "pong",
        "rate_limited",
    ]
    assert transport.close_codes == []


async def test_rate_limit_without_a_clock_burst_faster_than_refill(
    make_table: MakeTable, connect: Connect, transport: FakeTransport
) -> None:
    # "3/h" refills one token every 20 minutes: a burst of 5 cannot get a 4th token
    connection = connect(
        Dispatcher(make_table([("ping", on_ping)]), middlewares=[RateLimitMiddleware.with_rate("3/h")])
    )
    for ref in range(5):
        await connection.receive(json.dumps({"type": "ping", "ref": ref}))
    assert [frame.get("code", "ok") for frame in transport.frames] == ["ok", "ok", "ok", "rate_limited", "rate_limited"]
    assert transport.close_codes == []


async def test_rate_limit_is_per_socket(
    make_table: MakeTable,
    make_transport: type[FakeTransport],
    make_socket: type[FakeSocket],
    clock: FakeClock,
) -> None:
    dispatcher = Dispatcher(make_table([("ping", on_ping)]), middlewares=[RateLimitMiddleware.with_rate("1/m")])
    first, second = make_transport(), make_transport()
    one = dispatcher.connect(first, make_socket())
    two = dispatcher.connect(second, make_socket())
    await one.receive('{"type": "ping"}')
    await one.receive('{"type": "ping"}')
    await two.receive('{"type": "ping"}')
    assert [frame.get("code", "ok") for frame in first.frames] == ["ok", "rate_limited"]
    assert second.frames == [{"type": "pong"}]


async def test_rate_limit_subclass_with_its_own_rate(
    make_table: MakeTable, connect: Connect, transport: FakeTransport, clock: FakeClock
) -> None:
    class TwoPerSecond(RateLimitMiddleware):
        rate = "2/s"

    connection = connect(Dispatcher(make_table([("ping", on_ping)]), middlewares=[TwoPerSecond]))
    for _ in range(3):
        await connection.receive('{"type": "ping"}')
    assert [frame.get("code", "ok") for frame in transport.frames] == ["ok", "ok", "rate_limited"]
    # half a second refills one token at 2/s
    clock.now += 0.5
    await connection.receive('{"type": "ping"}')
    await connection.receive('{"type": "ping"}')
    assert [frame.get("code", "ok") for frame in transport.frames[3:]] == ["ok", "rate_limited"]


def test_a_bad_rate_is_a_config_error_at_class_creation() -> None:
    with pytest.raises(ConfigError):
        RateLimitMiddleware.with_rate("fast")

    with pytest.raises(ConfigError):

        class Bad(RateLimitMiddleware):
            rate = "0/s"


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("20/s", (20, 1.0)),
        ("1/m", (1, 60.0)),
        ("100/5m", (100, 300.0)),
        ("1000/h", (1000, 3600.0)),
        (" 3 / 2 s ", (3, 2.0)),
    ],
)
def test_parse_rate(rate: str, expected: tuple[int, float]) -> None:
    assert parse_rate(rate) == expected


@pytest.mark.parametrize(
    "rate",
    ["", "20", "20/", "/s", "20/d", "0/s", "20/0s", "-1/s", "1.5/s", "20/s/s", "twenty/s", "20 per s", 20, None],
)
def test_parse_rate_errors(rate: Any) -> None:
    with pytest.raises(ConfigError):
        parse_rate(rate)
