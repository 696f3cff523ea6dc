"""Validating payloads with a pydantic model annotation or ``schema=``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from wsroute import Dispatcher, RouteTableBuilder
from wsroute.testing import MemoryTransport


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
