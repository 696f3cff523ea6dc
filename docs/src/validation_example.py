"""Validating payloads with a pydantic model annotation or ``schema=``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

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
class ChatMessage(BaseModel):
    type: Literal["chat"]
    room: str = Field(pattern=r"^[a-z0-9-]+$")
    text: str = Field(min_length=1, max_length=500)

    @field_validator("text")
    @classmethod
    def no_markup(cls, text: str) -> str:
        if "<" in text:
            raise ValueError("markup is not allowed")
        return text


async def chat(socket: MemoryTransport, message: ChatMessage) -> dict[str, Any]:
    return {"type": "chat", "room": message.room, "text": message.text}


@dataclass
class Move:
    type: str
    x: int
    y: int


async def move(socket: MemoryTransport, move: Move) -> dict[str, Any]:
    return {"type": "moved", "x": move.x, "y": move.y}


builder = RouteTableBuilder(owner="Game")
builder.add("chat", chat)  # validated: the parameter is annotated with a model
builder.add("move", move, schema=Move)  # validated: schema= takes any type pydantic accepts
dispatcher = Dispatcher(builder.build())


async def main() -> list[str]:
    transport = MemoryTransport()
    connection = dispatcher.connect(transport, receiver=transport)
    await connection.receive('{"type": "chat", "room": "lobby", "text": "hi", "ref": 1}')
    await connection.receive('{"type": "chat", "room": "Lobby!", "text": "", "ref": 2}')
    await connection.receive('{"type": "chat", "room": "lobby", "text": "<b>hi</b>"}')
    await connection.receive('{"type": "move", "x": "3", "y": 4}')
    await connection.receive('{"type": "move", "x": "left"}')
    return transport.log


# --8<-- [end:example]

if __name__ == "__main__":
    print("\n".join(asyncio.run(main())))
