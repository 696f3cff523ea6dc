"""Shared helpers for the adversarial tests: hostile frames, floods, layer messages,
cancellation and a Redis outage, against real consumers of both styles.

The socket fixtures are the consumer tests' own (``tests/consumers/conftest.py``),
re-exposed here. On top of them:

* ``on_the_wire(app)`` wraps an ASGI app the way a real server treats what it sends: daphne
  and uvicorn encode every text frame as strict UTF-8 and fail the send when they cannot, so
  a frame that could never reach a browser fails here too (and is recorded);
* ``exchange`` sends one frame and then a barrier request, and returns everything that came
  back before the barrier's answer: "exactly one answer" without sleeping;
* ``check_error_frame`` holds an error frame to the wire format's limits (8 KiB of UTF-8, no
  exception text, one of the documented codes).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import override_settings

from tests.consumers.conftest import (
    QUIET,
    TIMEOUT,
    Client,
    Connect,
    Frame,
    assert_error,
    channel_layer,
    memory_layer,
)
from tests.consumers.conftest import connect as consumers_connect

__all__ = [
    "CLOSE_FLOODING",
    "CLOSE_INTERNAL_ERROR",
    "ERROR_CODES",
    "MAX_ERROR_FRAME",
    "MAX_MESSAGE_SIZE",
    "QUIET",
    "TIMEOUT",
    "Client",
    "Connect",
    "Frame",
    "Style",
    "Wire",
    "assert_error",
    "channel_layer",
    "check_error_frame",
    "connect",
    "consumers_connect",
    "exchange",
    "memory_layer",
    "no_error_budget",
    "on_the_wire",
    "read_frame",
    "tracebacks",
]

#: every error frame fits in this many bytes of UTF-8 (docs/wire-format.md, "Error frames are bounded")
MAX_ERROR_FRAME = 8 * 1024
#: WSROUTE["MAX_MESSAGE_SIZE"]'s default, in bytes of UTF-8
MAX_MESSAGE_SIZE = 512 * 1024
#: the documented error codes
ERROR_CODES = frozenset(
    {
        "bad_json",
        "bad_message",
        "unknown_type",
        "validation_error",
        "forbidden",
        "rate_limited",
        "too_large",
        "server_error",
    }
)
CLOSE_FLOODING = 4429
CLOSE_INTERNAL_ERROR = 4500

#: what must never reach a client: a traceback, a source line, an exception's class name
_LEAKS = re.compile(r"Traceback|File \"|\b[A-Z]\w*(?:Error|Exception)\b")


@dataclass(frozen=True)
class Style:
    """One consumer style: its routing key, its error value and how it answers a barrier."""

    name: str
    key: str
    error: str
    app: Any
    #: a request every consumer of this style answers at once
    ping: str
    #: the routing-key value of that answer
    pong: str

    def frame(self, name: Any, **fields: Any) -> Frame:
        return {self.key: name, **fields}


# -- the wire ---------------------------------------------------------------------------------------


@dataclass
class Wire:
    """What a real server did with the frames an app sent."""

    #: text frames the server could not send: not encodable as UTF-8
    unsendable: list[str] = field(default_factory=list)


def on_the_wire(app: Any, wire: Wire | None = None) -> Any:
    """``app`` behind a send that, like daphne's and uvicorn's, encodes text frames as strict UTF-8.

    A frame that is not valid UTF-8 (a lone surrogate in it) makes ``send`` raise
    ``UnicodeEncodeError`` in a real server; here too, and it is recorded in ``wire``.
    """
    record = wire if wire is not None else Wire()

    async def server(scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        async def strict_send(message: MutableMapping[str, Any]) -> None:
            text = message.get("text")
            if message.get("type") == "websocket.send" and isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    record.unsendable.append(text)
                    raise
            await send(message)

        await app(scope, receive, strict_send)

    return server


# -- conversations -----------------------------------------------------------------------------------

_barriers: Iterator[int] = itertools.count()


async def read_frame(client: Client) -> tuple[str, Frame]:
    """The next thing the server does must be sending a text frame holding a JSON object."""
    output = await client.receive_output(TIMEOUT)
    assert output["type"] == "websocket.send", f"expected a frame, the server did {output!r}"
    text = output.get("text")
    assert isinstance(text, str), f"expected a text frame, got {output!r}"
    frame = json.loads(text)
    assert isinstance(frame, dict), text
    return text, frame


async def exchange(client: Client, style: Style, send: Callable[[], Awaitable[None]]) -> list[tuple[str, Frame]]:
    """Run ``send``, then ask ``style.ping`` with a fresh ``ref``: every frame before its answer.

    The barrier's answer arriving proves the socket is open and answering; what came before
    it is exactly what ``send`` caused.
    """
    ref = f"barrier-{next(_barriers)}"
    await send()
    await client.send_text(json.dumps({style.key: style.ping, "ref": ref}))
    before: list[tuple[str, Frame]] = []
    while True:
        try:
            text, frame = await read_frame(client)
        except TimeoutError:
            pytest.fail(f"the socket stopped answering: no reply to the barrier {ref!r} (frames so far: {before!r})")
        if frame.get("ref") == ref and frame.get(style.key) == style.pong:
            return before
        before.append((text, frame))


def check_error_frame(text: str, style: Style, code: str | None = None) -> Frame:
    """``text`` is a bounded error frame of ``style`` (with ``code`` when given); returns it decoded."""
    size = len(text.encode("utf-8"))  # strict: a real server must be able to send it
    assert size <= MAX_ERROR_FRAME, f"error frame of {size} bytes: {text[:300]}..."
    frame = json.loads(text)
    assert frame[style.key] == style.error, frame
    assert frame["code"] in ERROR_CODES, frame
    if code is not None:
        assert frame["code"] == code, frame
    assert isinstance(frame["detail"], str), frame
    assert frame["detail"], frame
    if frame["code"] == "server_error":
        assert frame["detail"] == "internal server error", frame
    leak = _LEAKS.search(frame["detail"])
    assert leak is None, f"exception text in an error frame: {leak[0]!r} in {frame!r}"
    for error in frame.get("errors", ()):
        assert isinstance(error, dict), frame
        assert "ctx" not in error and "url" not in error, error
    return dict(frame)


def tracebacks(caplog: pytest.LogCaptureFixture, logger: str = "wsroute") -> list[logging.LogRecord]:
    """Records of ``logger`` that carry an exception with its traceback.

    (``tests.consumers.conftest.tracebacks`` trips over records logged with ``exc_info=False``,
    which wsroute's throttled log lines are.)
    """
    return [r for r in caplog.records if r.name == logger and r.exc_info and r.exc_info[2] is not None]


# -- fixtures -----------------------------------------------------------------------------------------

#: seconds a consumer gets to finish after the client leaves, at teardown
TEARDOWN_WAIT = 1.0


@pytest.fixture
async def connect(consumers_connect: Connect) -> AsyncIterator[Connect]:
    """The consumer tests' ``connect``, with a shorter wait for each consumer to finish at teardown.

    On channels-redis under Python 3.11 a consumer sometimes never finishes after its client
    leaves (see ``test_cancellation.py``); ``consumers_connect`` would give each such consumer
    the full ``TIMEOUT`` before cancelling it, which adds up across this directory.
    """
    opened: list[Client] = []

    async def _connect(
        app: Any, path: str = "/ws/", *, user: Any = None, headers: list[tuple[bytes, bytes]] | None = None
    ) -> Client:
        client = await consumers_connect(app, path, user=user, headers=headers)
        opened.append(client)
        return client

    yield _connect
    for client in opened:
        if not client.finished and not (client._future is not None and client.future.cancelled()):
            await client.disconnect(timeout=TEARDOWN_WAIT)


# -- settings -----------------------------------------------------------------------------------------


@pytest.fixture
def no_error_budget() -> Iterator[None]:
    """``WSROUTE["ERROR_LIMIT"] = None`` (and rows off): one socket may take any number of bad frames.

    Consumers that should take a flood of examples also set ``rate_limit = None`` themselves.
    """
    with override_settings(WSROUTE={"PERSIST": False, "ERROR_LIMIT": None}):
        yield
