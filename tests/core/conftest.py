"""Shared helpers for the core tests.

``FakeTransport`` is ``wsroute.testing.MemoryTransport`` (the core's ``Transport``
protocol, recording what the dispatcher asks of it); ``FakeSocket``
stands in for what handlers receive first (the live socket in the decorator style, the
consumer in the subclass style).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from wsroute import Connection, Dispatcher, RouteTable, RouteTableBuilder
from wsroute.routing import RouteKey
from wsroute.testing import MemoryTransport

#: the core's in-memory transport: records the exact text frames and close codes
FakeTransport = MemoryTransport


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
