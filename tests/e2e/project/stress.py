"""Consumers for the fuzzer and the soak test (``bench/fuzz.py``, ``bench/soak.py``).

Both styles answer the same requests, each with an ``async`` and a sync handler validated by
a pydantic model, and a few routes that fail on purpose (one per error code a handler can
cause). A socket opened with ``?join=1`` joins the group ``GROUP`` on connect; ``SHOUT``
broadcasts ``BCAST`` to it.

- ``/stress/dec/``: decorator style (``type``), routes ``ECHO``, ``ECHO_SYNC``, ``SHOUT``,
  ``BOOM``, ``BOOM_SYNC``, ``FORBID``, ``NAN``, ``HUGE``, ``BAD_RETURN`` and the inherited ``PING``.
- ``/stress/sub/``: subclass style (``event``), the same routes in lower case.
- ``/stress/flood/``: decorator style with flood control at ``100/s`` whatever the settings say
  (the two others turn it off: the fuzzer measures robustness, not flood control).

Every consumer writes ``Socket`` rows.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import parse_qs

from django.views import View
from pydantic import BaseModel, Field

from wsroute_django import Forbidden, JSONWebSocket, RoutedSocketHandler, SocketRouter

#: the group ``?join=1`` sockets join and ``SHOUT`` broadcasts to
GROUP = "stress.members"
#: what ``HUGE`` returns: over ``MAX_SEND_SIZE`` (1 MiB), so it is never sent
HUGE_REPLY_CHARS = 2 * 1024 * 1024


class Echo(BaseModel):
    n: int
    text: str = Field(max_length=1000)
    tags: list[str] = Field(default_factory=list, max_length=50)
    meta: dict[str, int] = Field(default_factory=dict)


class Shout(BaseModel):
    seq: int


def wants_group(scope: dict[str, Any]) -> bool:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("join") == ["1"]


def echoed(key: str, value: str, message: Echo, handler: str) -> dict[str, Any]:
    return {key: value, "n": message.n, "text": message.text, "handler": handler}


class StressHandler(RoutedSocketHandler):
    persist: ClassVar[bool | None] = True
    rate_limit: ClassVar[str | None] = None


class FloodHandler(RoutedSocketHandler):
    """Answers ``PING``; a socket sending faster than 100 frames/s (burst 200) is rate limited."""

    persist: ClassVar[bool | None] = True
    rate_limit: ClassVar[str | None] = "100/s"


class StressDec(View):
    socket = SocketRouter(handler=StressHandler)

    @socket.connect
    async def joined(socket: Any) -> None:
        if wants_group(socket.scope):
            await socket.group_add(GROUP)

    @socket.route("ECHO")
    async def echo(socket: Any, message: Echo) -> dict[str, Any]:
        return echoed("type", "ECHOED", message, "async")

    @socket.route("ECHO_SYNC")
    def echo_sync(socket: Any, message: Echo) -> dict[str, Any]:
        return echoed("type", "ECHOED", message, "sync")

    @socket.route("SHOUT")
    async def shout(socket: Any, message: Shout) -> dict[str, Any]:
        await socket.group_send(GROUP, "BCAST", {"seq": message.seq})
        return {"type": "SHOUTED", "seq": message.seq}

    @socket.route("BOOM")
    async def boom(socket: Any, content: dict[str, Any]) -> None:
        raise RuntimeError("secret: this text must never reach the client")

    @socket.route("BOOM_SYNC")
    def boom_sync(socket: Any, content: dict[str, Any]) -> None:
        raise RuntimeError("secret: this text must never reach the client")

    @socket.route("FORBID")
    async def forbid(socket: Any, content: dict[str, Any]) -> None:
        raise Forbidden("not for you")

    @socket.route("NAN")
    async def nan(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "NAN", "value": float("nan")}

    @socket.route("HUGE")
    async def huge(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "HUGE", "blob": "x" * HUGE_REPLY_CHARS}

    @socket.route("BAD_RETURN")
    async def bad_return(socket: Any, content: dict[str, Any]) -> Any:
        return 42


class StressSub(JSONWebSocket):
    persist: ClassVar[bool | None] = True
    rate_limit: ClassVar[str | None] = None

    async def on_connect(self) -> None:
        if wants_group(self.scope):
            await self.group_add(GROUP)

    async def on_echo(self, event: Echo) -> dict[str, Any]:
        return echoed("event", "echoed", event, "async")

    def on_echo_sync(self, event: Echo) -> dict[str, Any]:
        return echoed("event", "echoed", event, "sync")

    async def on_shout(self, event: Shout) -> dict[str, Any]:
        await self.group_send(GROUP, "BCAST", {"seq": event.seq})
        return {"event": "shouted", "seq": event.seq}

    async def on_boom(self, event: dict[str, Any]) -> None:
        raise RuntimeError("secret: this text must never reach the client")

    def on_boom_sync(self, event: dict[str, Any]) -> None:
        raise RuntimeError("secret: this text must never reach the client")

    async def on_forbid(self, event: dict[str, Any]) -> None:
        raise Forbidden("not for you")

    async def on_nan(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "nan", "value": float("nan")}

    async def on_huge(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "huge", "blob": "x" * HUGE_REPLY_CHARS}

    async def on_bad_return(self, event: dict[str, Any]) -> Any:
        return 42
