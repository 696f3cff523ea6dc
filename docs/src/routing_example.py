"""Exact names, regexes in declaration order, the default route, duplicates and overrides."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from wsroute import Dispatcher, DuplicateRouteError, RouteTableBuilder
from wsroute.testing import MemoryTransport


# --8<-- [start:table]
async def join(socket: MemoryTransport, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "joined", "room": content["room"]}


async def lobby_join(socket: MemoryTransport, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "lobby_joined"}


async def room_action(socket: MemoryTransport, content: dict[str, Any], match: re.Match[str]) -> dict[str, Any]:
    return {"type": "room_action", "room": match["room"], "action": match["action"]}


async def room_other(socket: MemoryTransport, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "room_other", "key": content["type"]}


async def fallback(socket: MemoryTransport, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "unhandled", "key": content["type"]}


builder = RouteTableBuilder(owner="ChatConsumer")
builder.add("join", join)
builder.add("room.lobby.join", lobby_join)
builder.add(re.compile(r"room\.(?P<room>\w+)\.(?P<action>join|leave)"), room_action)
builder.add(re.compile(r"room\..+"), room_other)
builder.set_default(fallback)
chat_table = builder.build()
# --8<-- [end:table]


# --8<-- [start:override]
async def moderated_join(socket: MemoryTransport, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "join_pending", "room": content["room"]}


child = RouteTableBuilder(owner="ModeratedChatConsumer").inherit(chat_table)
child.add("join", moderated_join)  # overrides the parent's route, no error
moderated_table = child.build()
# --8<-- [end:override]


# --8<-- [start:duplicate]
async def join_room(socket: MemoryTransport, content: dict[str, Any]) -> None:
    return None


def duplicate_error() -> str:
    builder = RouteTableBuilder(owner="ChatConsumer")
    builder.add("join", join)
    try:
        builder.add("join", join_room)
    except DuplicateRouteError as exc:
        return str(exc)
    return "no error"


# --8<-- [end:duplicate]


# --8<-- [start:main]
async def main() -> list[str]:
    transport = MemoryTransport()
    chat = Dispatcher(chat_table).connect(transport, receiver=transport)
    for key in ["join", "room.lobby.join", "room.lobby.leave", "room.lobby.kick", "room.lobby", "rooms"]:
        await chat.receive(json.dumps({"type": key, "room": "lobby"}))

    moderated = Dispatcher(moderated_table).connect(transport, receiver=transport)
    await moderated.receive('{"type": "join", "room": "lobby"}')
    await moderated.receive('{"type": "room.lobby.leave"}')
    return transport.log


# --8<-- [end:main]

if __name__ == "__main__":
    print("\n".join(asyncio.run(main())))
    print(duplicate_error())
