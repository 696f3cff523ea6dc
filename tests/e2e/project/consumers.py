"""The two consumer styles, both writing ``Socket`` rows (``persist = True``)."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, ClassVar

from django.views import View

from wsroute_django import Forbidden, Join, JSONWebSocket, RoutedSocketHandler, SocketMiddleware, SocketRouter


class PersistentHandler(RoutedSocketHandler):
    persist: ClassVar[bool | None] = True


class Lobby(View):
    """Decorator style: answers ``PING`` (inherited) and ``WHOAMI``."""

    socket = SocketRouter(handler=PersistentHandler)

    @socket.route("WHOAMI")
    async def whoami(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        user = socket.user
        return {"type": "WHOAMI", "user": user.get_username() if user else "", "pid": os.getpid()}


class Rooms(View):
    """Topics with presence: ``room:<id>``; ``room:private`` for logged-in users only."""

    socket = SocketRouter(handler=PersistentHandler)

    @socket.topic("room:{id}")
    async def join_room(socket: Any, join: Join) -> dict[str, Any]:
        if join.params["id"] == "private" and not socket.user.is_authenticated:
            raise Forbidden("log in to join")
        return {"pid": os.getpid()}

    @socket.presence_meta
    async def meta(socket: Any, topic: str) -> dict[str, Any]:
        return {"name": socket.user.get_username() if socket.user.is_authenticated else "guest"}


class Chat(JSONWebSocket):
    """Subclass style: every socket on ``/chat/<room>/`` joins the group ``chat.<room>``."""

    persist: ClassVar[bool | None] = True

    @property
    def room(self) -> str:
        return f"chat.{self.scope['url_route']['kwargs']['room']}"

    async def on_connect(self) -> None:
        await self.group_add(self.room)

    async def on_say(self, event: dict[str, Any]) -> None:
        await self.group_send(self.room, "said", {"text": event.get("text", ""), "pid": os.getpid()})

    async def on_whoami(self, event: dict[str, Any]) -> dict[str, Any]:
        user = self.user
        return {"event": "whoami", "user": user.get_username() if user else "", "pid": os.getpid()}


logger = logging.getLogger("wsroute.e2e")


class AnnounceDisconnect(SocketMiddleware):
    async def on_disconnect(self, code: int) -> None:
        logger.warning("middleware on_disconnect ran on %s with code %s", self.scope["path"], code)


class FailingConnect(JSONWebSocket):
    """``/failing/``: the connect hook raises after joining a group; the socket closes with 4500."""

    persist: ClassVar[bool | None] = True
    middlewares = [AnnounceDisconnect]

    async def on_connect(self) -> None:
        await self.group_add("failing")
        raise RuntimeError("the connect hook failed")

    async def on_disconnect(self, code: int) -> None:
        logger.warning("on_disconnect ran on %s with code %s", self.path, code)


class SlowConnect(JSONWebSocket):
    """``/slow-connect/``: the connect hook takes 60 s, so a client gives up mid-handshake and
    daphne cancels the consumer (10 s after the client left)."""

    persist: ClassVar[bool | None] = True
    middlewares = [AnnounceDisconnect]

    async def on_connect(self) -> None:
        await self.group_add("slow")
        await asyncio.sleep(60)

    async def on_disconnect(self, code: int) -> None:
        logger.warning("on_disconnect ran on %s with code %s", self.path, code)
