"""The handler-class half of the decorator style: a ``routes`` table of method names."""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from wsroute_django.consumer import RouteEntry, SocketConsumer

__all__ = ["Pong", "RoutedSocketHandler"]


class Pong(TypedDict):
    """The answer to the client's keep-alive ``{"type": "PING"}``."""

    type: Literal["PONG"]
    #: the server's clock, in seconds since the epoch
    ts: float


class RoutedSocketHandler(SocketConsumer):
    """A consumer routed on the client frame's ``type`` by its ``routes`` table.

    ::

        class PokerSocketHandler(RoutedSocketHandler):
            login_required = True
            routes = (
                *RoutedSocketHandler.routes,
                ("GET_GAMESTATE", "on_get_gamestate"),
                (re.compile("ACT_.+"), "on_game_action"),
            )

            def on_get_gamestate(self, content):
                return {"type": "GAMESTATE", "state": ...}

    The base table answers the client heartbeat ``{"type": "PING"}`` with ``PONG``; a
    subclass may route ``PING`` itself.
    """

    routes: ClassVar[tuple[RouteEntry, ...]] = (("PING", "answer_ping"),)

    async def answer_ping(self, content: dict[str, Any]) -> Pong:
        """``{"type": "PING"}`` -> ``{"type": "PONG", "ts": <server time>}``: the client's keep-alive."""
        return {"type": "PONG", "ts": time.time()}

    #: the name ``answer_ping`` had before (not the liveness task, nor ``HeartbeatMiddleware``)
    heartbeat = answer_ping
