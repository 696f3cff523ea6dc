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

    The dispatcher hands it the exact text a server would send, so a reply that could not
    be sent fails here too.
    """

    def __init__(self, scope: Mapping[str, Any] | None = None) -> None:
        self.scope: Mapping[str, Any] = scope if scope is not None else {"type": "websocket", "path": "/ws/"}
        #: every frame sent, decoded, in order
        self.frames: list[dict[str, Any]] = []
        #: every close code, in order
        self.close_codes: list[int] = []
        #: every close reason, in order
        self.close_reasons: list[str] = []
        #: frames as JSON text and closes as ``"close <code>"``, interleaved in order
        self.log: list[str] = []

    async def send_text(self, text: str) -> None:
        self.log.append(text)
        self.frames.append(json.loads(text))

    async def close_socket(self, code: int, reason: str = "") -> None:
        self.log.append(f"close {code}")
        self.close_codes.append(code)
        self.close_reasons.append(reason)
