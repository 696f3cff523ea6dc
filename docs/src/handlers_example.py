"""Handler signatures, sync and async handlers, return values."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

from pydantic import BaseModel

from wsroute import Dispatcher, RouteTableBuilder
from wsroute.testing import MemoryTransport


# --8<-- [start:decorator]
def in_worker_thread() -> bool:
    return threading.current_thread() is not threading.main_thread()


async def ping(socket: MemoryTransport, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "pong", "worker_thread": in_worker_thread()}


def save(socket: MemoryTransport, content: dict[str, Any]) -> dict[str, Any]:
    # A sync handler: the place for blocking work such as the Django ORM.
    return {"type": "saved", "worker_thread": in_worker_thread()}


async def hello(socket: MemoryTransport) -> dict[str, Any]:
    return {"type": "hello"}  # takes no content: called without it


async def note(socket: MemoryTransport, content: dict[str, Any]) -> None:
    return None  # no reply


async def item(socket: MemoryTransport, match: re.Match[str]) -> dict[str, Any]:
    return {"type": "item", "id": int(match["id"])}


class Profile(BaseModel):
    type: str = "profile"
    name: str


async def whoami(socket: MemoryTransport, content: dict[str, Any]) -> Profile:
    return Profile(name="ada")


def default_route(socket: MemoryTransport, content: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "unknown", "key": content["type"] if content else None}


builder = RouteTableBuilder(owner="DecoratorStyle")
builder.add("ping", ping)
builder.add("save", save)
builder.add("hello", hello)
builder.add("note", note)
builder.add(re.compile(r"item\.(?P<id>\d+)"), item)
builder.add("whoami", whoami)
builder.set_default(default_route)
decorator_style = Dispatcher(builder.build())
# --8<-- [end:decorator]


# --8<-- [start:subclass]
class Chat:
    """In the subclass style the consumer itself is the receiver: handlers take ``self``."""

    def __init__(self, nickname: str) -> None:
        self.nickname = nickname

    async def on_chat(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "chat", "from": self.nickname, "text": event["text"]}

    def on_notify(self) -> None:
        pass  # takes no event


chat_builder = RouteTableBuilder(owner="Chat")
chat_builder.add("chat", Chat.on_chat)
chat_builder.add("notify", Chat.on_notify)
subclass_style = Dispatcher(chat_builder.build(), key="event", error_value="error")
# --8<-- [end:subclass]


# --8<-- [start:main]
async def main() -> list[str]:
    transport = MemoryTransport()
    connection = decorator_style.connect(transport, receiver=transport)
    for text in [
        '{"type": "ping", "ref": 1}',
        '{"type": "save", "ref": 2}',
        '{"type": "hello"}',
        '{"type": "note", "ref": 3}',
        '{"type": "item.42"}',
        '{"type": "whoami", "ref": "me"}',
        '{"type": "dance"}',
    ]:
        await connection.receive(text)

    consumer = Chat(nickname="ada")
    connection = subclass_style.connect(transport, receiver=consumer)
    await connection.receive('{"event": "chat", "text": "hi", "ref": 4}')
    await connection.receive('{"event": "notify"}')
    return transport.log


# --8<-- [end:main]

if __name__ == "__main__":
    print("\n".join(asyncio.run(main())))
