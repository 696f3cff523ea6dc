"""Shared helpers for the core tests.

``FakeTransport`` implements the core's real ``Transport`` protocol (``scope``,
``transmit``, ``close_socket``) and records what the dispatcher asks of it; ``FakeSocket``
stands in for what handlers receive first (the live socket in the decorator style, the
consumer in the subclass style).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest

from wsroute import Connection, Dispatcher, RouteTable, RouteTableBuilder
from wsroute.routing import RouteKey


class FakeTransport:
    """A live connection as the core sees it: frames sent and close codes are recorded."""

    def __init__(self, scope: Mapping[str, Any] | None = None) -> None:
        self.scope: Mapping[str, Any] = scope if scope is not None else {"type": "websocket", "path": "/ws/"}
        self.frames: list[dict[str, Any]] = []
        self.close_codes: list[int] = []

    async def transmit(self, frame: dict[str, Any]) -> None:
        # Every frame must survive the serialisation a real transport does.
        json.dumps(frame)
        self.frames.append(frame)

    async def close_socket(self, code: int) -> None:
        self.close_codes.append(code)


class FakeSocket:
    """The receiver handed to handlers and middleware; ``events`` records what ran, in order."""

    def __init__(self) -> None:
        self.events: list[Any] = []


MakeTable = Callable[..., RouteTable]
Connect = Callable[..., Connection]


def build_table(
    routes: Iterable[tuple[RouteKey, Callable[..., Any]]] = (),
    default: Callable[..., Any] | None = None,
) -> RouteTable:
    builder = RouteTableBuilder(owner="test table")
    builder.add_all(routes)
    if default is not None:
        builder.set_default(default)
    return builder.build()


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def receiver() -> FakeSocket:
    return FakeSocket()


@pytest.fixture
def make_transport() -> type[FakeTransport]:
    """For tests that need more than one connection."""
    return FakeTransport


@pytest.fixture
def make_socket() -> type[FakeSocket]:
    return FakeSocket


@pytest.fixture
def make_table() -> MakeTable:
    """``make_table([(key, handler), ...], default=handler)`` -> a built ``RouteTable``."""
    return build_table


@pytest.fixture
def connect(transport: FakeTransport, receiver: FakeSocket) -> Connect:
    """``connect(dispatcher)`` -> a ``Connection`` over the test's transport and receiver."""

    def _connect(dispatcher: Dispatcher) -> Connection:
        return dispatcher.connect(transport, receiver)

    return _connect
