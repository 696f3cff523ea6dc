"""The smallest wsroute program: one route, one connection, two client frames."""

from __future__ import annotations

import asyncio
from typing import Any

from wsroute import Dispatcher, RouteTableBuilder
from wsroute.testing import MemoryTransport


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
