"""The smallest wsroute program: one route, one connection, two client frames."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from wsroute import Dispatcher, RouteTableBuilder


class MemoryTransport:
    """Stands in for the Channels consumer: records what would go down the socket."""

    def __init__(self, scope: Mapping[str, Any] | None = None) -> None:
        self.scope: Mapping[str, Any] = scope if scope is not None else {"type": "websocket", "path": "/ws/"}
        self.log: list[str] = []

    async def transmit(self, frame: dict[str, Any]) -> None:
        self.log.append(json.dumps(frame))

    async def close_socket(self, code: int) -> None:
        self.log.append(f"close {code}")


# --8<-- [start:example]
async def ping(socket: MemoryTransport, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "pong"}


builder = RouteTableBuilder(owner="Quickstart")
builder.add("ping", ping)
dispatcher = Dispatcher(builder.build())  # once per consumer class


async def main() -> list[str]:
    transport = MemoryTransport()
    connection = dispatcher.connect(transport, receiver=transport)  # once per socket
    await connection.receive('{"type": "ping", "ref": 1}')
    await connection.receive('{"type": "pong"}')
    return transport.log


# --8<-- [end:example]

if __name__ == "__main__":
    print("\n".join(asyncio.run(main())))
