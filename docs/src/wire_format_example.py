"""Reply and error frames, ``ref`` correlation, and the event-style routing key."""

from __future__ import annotations

import asyncio
from typing import Any

from wsroute import Dispatcher, Forbidden, RouteTableBuilder
from wsroute.testing import MemoryTransport


# --8<-- [start:example]
async def add(socket: MemoryTransport, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "sum", "value": content["a"] + content["b"]}


async def delete(socket: MemoryTransport, content: dict[str, Any]) -> None:
    raise Forbidden("only moderators may delete messages")


async def crash(socket: MemoryTransport, content: dict[str, Any]) -> None:
    raise RuntimeError("secret database password in this message")


builder = RouteTableBuilder(owner="WireFormat")
builder.add("add", add)
builder.add("delete", delete)
builder.add("crash", crash)
table = builder.build()

type_style = Dispatcher(table, max_message_size=200)
event_style = Dispatcher(table, key="event", error_value="error")


async def main() -> list[str]:
    transport = MemoryTransport()
    connection = type_style.connect(transport, receiver=transport)
    for text in [
        '{"type": "add", "a": 1, "b": 2, "ref": 7}',  # reply carries the ref
        '{"type": "add", "a": 1, "b": 2, "ref": "req-8"}',
        '{"type": "add", "a": 1, "b": 2}',  # no ref, none added
        '{"type": "add", "a": 1,',  # bad_json
        "[1, 2]",  # bad_message: not an object
        '{"ref": 9}',  # bad_message: no routing key, ref still echoed
        '{"type": 5}',  # bad_message: key is not a string
        '{"type": "add", "ref": 1.5}',  # bad_message: unusable ref
        '{"type": "nope", "ref": 10}',  # unknown_type
        '{"type": "delete", "ref": 11}',  # forbidden, raised by the handler
        '{"type": "crash", "ref": 12}',  # server_error: details stay in the server log
        '{"type": "add", "pad": "' + "x" * 200 + '"}',  # too_large
    ]:
        await connection.receive(text)
    await connection.receive(bytes_data=b"\x00\x01")  # bad_message: binary frame

    events = MemoryTransport()
    connection = event_style.connect(events, receiver=events)
    await connection.receive('{"event": "add", "a": 2, "b": 3, "ref": 1}')
    await connection.receive('{"event": "nope", "ref": 2}')
    return transport.log + events.log


# --8<-- [end:example]

if __name__ == "__main__":
    print("\n".join(asyncio.run(main())))
