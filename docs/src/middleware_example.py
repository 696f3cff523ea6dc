"""Middleware hooks and their order, DROP, Reject, exceptions, and rate limiting."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wsroute import DROP, Dispatcher, Middleware, Reject, RouteTableBuilder
from wsroute.contrib import RateLimitMiddleware
from wsroute.middleware import Drop
from wsroute.testing import MemoryTransport


# --8<-- [start:middleware]
class RequireUser(Middleware):
    async def on_connect(self) -> None:
        if not self.scope.get("user"):
            raise Reject("log in first")  # closes with 4403


class Trace(Middleware):
    """Appends its name to a ``trace`` list at every hook, to show the order."""

    name = "?"

    async def on_connect(self) -> None:
        self.consumer.log.append(f"{self.name}.on_connect")

    async def on_receive(self, content: dict[str, Any]) -> dict[str, Any]:
        return {**content, "trace": [*content.get("trace", []), f"{self.name}.on_receive"]}

    async def on_send(self, content: dict[str, Any]) -> dict[str, Any] | None:
        if "trace" not in content:
            return None  # None: pass the frame on unchanged
        return {**content, "trace": [*content["trace"], f"{self.name}.on_send"]}

    async def on_disconnect(self, code: int) -> None:
        self.consumer.log.append(f"{self.name}.on_disconnect {code}")


class Outer(Trace):
    name = "Outer"


class Inner(Trace):
    name = "Inner"


class Filter(Middleware):
    def on_receive(self, content: dict[str, Any]) -> Drop | None:  # sync hooks work too
        if content["type"] == "secret":
            return DROP  # no handler, no reply
        if content["type"] == "crash":
            raise RuntimeError("a bug in this middleware")
        return None


async def echo(socket: MemoryTransport, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "echo", "trace": [*content.get("trace", []), "handler"]}


builder = RouteTableBuilder(owner="Room")
builder.add("echo", echo)
builder.add("crash", echo)
table = builder.build()
dispatcher = Dispatcher(table, middlewares=[RequireUser, Outer, Inner, Filter])
# --8<-- [end:middleware]

# --8<-- [start:ratelimit]
limited = Dispatcher(table, middlewares=[RateLimitMiddleware.with_rate("2/s")])
# --8<-- [end:ratelimit]


# --8<-- [start:main]
async def main() -> list[str]:
    transport = MemoryTransport(scope={"type": "websocket", "user": "ada"})
    connection = dispatcher.connect(transport, receiver=transport)
    if await connection.open():
        await connection.receive('{"type": "echo", "ref": 1}')
        await connection.receive('{"type": "secret", "ref": 2}')
        await connection.receive('{"type": "crash", "ref": 3}')
        await connection.close(1000)

    anonymous = MemoryTransport(scope={"type": "websocket", "user": None})
    await dispatcher.connect(anonymous, receiver=anonymous).open()

    burst = MemoryTransport()
    connection = limited.connect(burst, receiver=burst)
    for ref in (1, 2, 3):
        await connection.receive(json.dumps({"type": "echo", "ref": ref}))
    return transport.log + anonymous.log + burst.log


# --8<-- [end:main]

if __name__ == "__main__":
    print("\n".join(asyncio.run(main())))
