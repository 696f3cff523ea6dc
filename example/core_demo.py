"""A tour of the wsroute core with no server: frames in, frames out.

python run.py example
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from wsroute import Dispatcher, RouteTableBuilder


class Move(BaseModel):
    type: str
    x: int
    y: int


async def ping(socket: object, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "PONG"}


async def move(socket: object, content: Move) -> dict[str, Any]:
    return {"type": "MOVED", "to": [content.x, content.y]}


def game_action(socket: object, content: dict[str, Any], match: re.Match[str]) -> dict[str, Any]:
    return {"type": "ACTION", "action": match[1].lower()}  # a sync handler: runs in a worker thread


class PrintingTransport:
    scope: Mapping[str, Any] = {}

    async def send_text(self, text: str) -> None:
        print("  <-", text)

    async def close_socket(self, code: int, reason: str = "") -> None:
        print("  closed", code, reason)


async def main() -> None:
    routes = RouteTableBuilder(owner="demo")
    routes.add("PING", ping)
    routes.add("MOVE", move)
    routes.add(re.compile("GAME_(.+)"), game_action)
    transport = PrintingTransport()
    connection = Dispatcher(routes.build()).connect(transport, transport)
    for frame in [
        '{"type": "PING", "ref": 1}',
        '{"type": "MOVE", "x": 3, "y": 4}',
        '{"type": "MOVE", "x": "left", "y": 4, "ref": "m1"}',
        '{"type": "GAME_FOLD"}',
        '{"type": "DANCE"}',
        "not json",
        "[1, 2]",
    ]:
        print("->", frame)
        await connection.receive(frame)


if __name__ == "__main__":
    asyncio.run(main())
