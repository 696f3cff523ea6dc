"""Test helpers for code built on the core, with no server.

``MemoryTransport`` stands in for a Channels consumer: drive a ``Dispatcher`` with it and
read what would have gone down the socket::

    transport = MemoryTransport()
    connection = dispatcher.connect(transport, receiver=transport)
    await connection.receive('{"type": "ping", "ref": 1}')
    assert transport.frames == [{"type": "pong", "ref": 1}]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["MemoryTransport"]


class MemoryTransport:
    """A ``Transport`` that records frames and close codes instead of sending them.

    Frames are serialised as the Django consumer does (strict JSON, no NaN), so a reply
    that could not be sent fails here too.
    """

    def __init__(self, scope: Mapping[str, Any] | None = None) -> None:
        self.scope: Mapping[str, Any] = scope if scope is not None else {"type": "websocket", "path": "/ws/"}
        #: every frame sent, in order
        self.frames: list[dict[str, Any]] = []
        #: every close code, in order
        self.close_codes: list[int] = []
        #: frames as JSON text and closes as ``"close <code>"``, interleaved in order
        self.log: list[str] = []

    async def transmit(self, frame: dict[str, Any]) -> None:
        self.log.append(json.dumps(frame, allow_nan=False))
        self.frames.append(frame)

    async def close_socket(self, code: int) -> None:
        self.log.append(f"close {code}")
        self.close_codes.append(code)
