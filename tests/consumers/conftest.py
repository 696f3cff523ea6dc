"""Shared helpers for the consumer tests: real consumers, the real in-memory channel layer.

``connect(app, path)`` opens a ``Client`` (a ``WebsocketCommunicator`` with a few
shortcuts) and asserts the handshake was accepted; every client a test leaves open is
disconnected at teardown, which also re-raises anything that crashed the consumer.
Absence is checked with ``receive_nothing`` or, better, with a barrier: a later frame whose
answer must be the very next thing the client receives.

Tests that speak in requests and replies use the test client users get instead
(``wsroute_django.testing``: ``SocketClient`` and the ``socket_client`` fixture).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any, Protocol

import pytest
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator

from wsroute_django.memory_layer import MemoryChannelLayer

#: the in-memory layers whose group table tests may read (Channels' and wsroute's)
IN_MEMORY_LAYERS = (InMemoryChannelLayer, MemoryChannelLayer)

#: seconds to wait for a frame that must arrive (generous: sync handlers hop threads)
TIMEOUT = 3.0
#: seconds to watch for a frame that must not arrive
QUIET = 0.2

Frame = dict[str, Any]


class Client(WebsocketCommunicator):  # type: ignore[misc]  # channels ships no type hints
    """A test WebSocket client."""

    finished = False

    async def send(self, data: Any) -> None:
        """Send ``data`` as JSON in a text frame."""
        await self.send_json_to(data)

    async def send_text(self, text: str) -> None:
        """Send a raw text frame (also an empty one, which ``send_to`` refuses)."""
        await self.send_input({"type": "websocket.receive", "text": text})

    async def recv(self) -> Frame:
        """The next frame, which must be a JSON object."""
        frame = await self.receive_json_from(TIMEOUT)
        assert isinstance(frame, dict), frame
        return frame

    async def ask(self, data: Any) -> Frame:
        await self.send(data)
        return await self.recv()

    async def silent(self) -> None:
        """Nothing arrives (the frame queue stays empty for ``QUIET`` seconds)."""
        if not await self.receive_nothing(timeout=QUIET):
            raise AssertionError(f"expected no frame, got {await self.receive_output(TIMEOUT)!r}")

    async def expect_close(self, code: int, reason: str | None = None) -> None:
        """The next thing the server does is close the socket with ``code`` (and ``reason``, if given)."""
        output = await self.receive_output(TIMEOUT)
        assert output["type"] == "websocket.close", output
        assert output["code"] == code, output
        if reason is not None:
            assert output.get("reason") == reason, output

    async def disconnect(self, code: int = 1000, timeout: float = TIMEOUT) -> None:  # noqa: ASYNC109  # the base's signature
        self.finished = True
        await super().disconnect(code, timeout)


class Connect(Protocol):
    def __call__(
        self, app: Any, path: str = "/ws/", *, user: Any = None, headers: list[tuple[bytes, bytes]] | None = None
    ) -> Awaitable[Client]: ...


def assert_error(
    frame: Frame, code: str, *, key: str = "type", value: str = "ERROR", ref: str | int | None = None
) -> None:
    """``frame`` is a documented error frame with ``code`` (and ``ref`` when given)."""
    assert frame[key] == value, frame
    assert frame["code"] == code, frame
    assert isinstance(frame["detail"], str), frame
    assert frame["detail"], frame
    if ref is None:
        assert "ref" not in frame, frame
    else:
        assert frame["ref"] == ref, frame
    json.dumps(frame)


def tracebacks(caplog: pytest.LogCaptureFixture, logger: str = "wsroute") -> list[logging.LogRecord]:
    """Records of ``logger`` that carry an exception with its traceback."""
    return [r for r in caplog.records if r.name == logger and r.exc_info is not None and r.exc_info[2] is not None]


@pytest.fixture
async def channel_layer() -> AsyncIterator[BaseChannelLayer]:
    """The configured (real) channel layer, emptied before and after the test."""
    layer = get_channel_layer()
    assert layer is not None, "tests/settings.py must configure CHANNEL_LAYERS"
    await layer.flush()
    yield layer
    await layer.flush()


@pytest.fixture
def memory_layer(channel_layer: BaseChannelLayer) -> InMemoryChannelLayer | MemoryChannelLayer:
    """The in-memory layer, for tests that look at its group table."""
    if not isinstance(channel_layer, IN_MEMORY_LAYERS):
        pytest.skip("inspects the in-memory layer's groups")
    return channel_layer


@pytest.fixture
async def connect(channel_layer: BaseChannelLayer) -> AsyncIterator[Connect]:
    """``await connect(app, path, user=...)`` -> an accepted ``Client``."""
    clients: list[Client] = []

    async def _connect(
        app: Any, path: str = "/ws/", *, user: Any = None, headers: list[tuple[bytes, bytes]] | None = None
    ) -> Client:
        client = Client(app, path, headers=headers)
        if user is not None:
            client.scope["user"] = user
        clients.append(client)
        connected, subprotocol = await client.connect(TIMEOUT)
        assert connected, f"handshake refused with code {subprotocol}"
        return client

    yield _connect
    for client in clients:
        if client.finished or (client._future is not None and client.future.cancelled()):
            continue
        await client.disconnect()
