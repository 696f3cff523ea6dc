"""Consumers of both styles for the test-client tests, and the ASGI application that serves them."""

from __future__ import annotations

import re
from typing import Annotated, Any

from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path, re_path
from django.views import View
from pydantic import BaseModel, Field

from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketRouter

ROOM = "testclient-room"


class Say(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=100)]


class Chat(JSONWebSocket):
    """Subclass style: the routing key is ``event``."""

    persist = True

    async def on_connect(self) -> None:
        await self.group_add(ROOM)

    async def on_say(self, event: Say) -> dict[str, Any]:
        await self.group_send(ROOM, "said", {"text": event.text})
        return {"event": "sent"}

    def on_whoami(self, event: dict[str, Any]) -> dict[str, Any]:  # sync: a worker thread, the ORM works
        row = self.record
        return {
            "event": "me",
            "user": self.user.get_username() if self.user is not None else None,
            "authenticated": bool(getattr(self.user, "is_authenticated", False)),
            "session_key": getattr(self.session, "session_key", None),
            "row_user_id": row.user_id if row is not None else None,
            "row_session_key": row.session_key if row is not None else None,
        }

    async def on_slow(self, event: dict[str, Any]) -> None:
        """Never answers; tells the room instead."""
        await self.group_send(ROOM, "busy", {})

    async def on_leave(self, event: dict[str, Any]) -> None:
        await self.close(4000)


class Members(RoutedSocketHandler):
    login_required = True


class Lobby(View):
    """Decorator style: the routing key is ``type``."""

    socket = SocketRouter()
    members = SocketRouter(handler=Members)

    @socket.connect
    def hello(socket: Any) -> None:
        socket.send_json({"type": "WELCOME"})

    @socket.route("ECHO")
    async def echo(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "ECHOED", "got": content.get("text")}

    @socket.route(re.compile(r"GAME_(\w+)"))
    def game(socket: Any, content: dict[str, Any], match: re.Match[str]) -> dict[str, Any]:
        return {"type": "GAME", "action": match[1]}

    @members.route("WHO")
    def who(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "YOU", "user": socket.user.get_username()}


class Actions(JSONWebSocket):
    """A consumer with its own routing key."""

    type_key = "action"

    def on_add(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"action": "sum", "sum": event["a"] + event["b"]}


class Raw(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels ships no type hints
    """A plain Channels consumer that misbehaves on request."""

    channel_layer_alias = "none"  # no layer: it has nothing to receive from one

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "text":
            await self.send(text_data="this is not JSON")
        elif text_data == "list":
            await self.send(text_data="[1, 2]")
        elif text_data == "bytes":
            await self.send(bytes_data=b"\x00\x01")
        await self.send(text_data='{"type": "after"}')


websocket_urlpatterns = [
    re_path(r"^ws/chat/$", Chat.as_asgi()),
    path("ws/lobby/", URLRouter([path("", Lobby.socket.as_asgi()), path("members/", Lobby.members.as_asgi())])),
    path("ws/actions/", Actions.as_asgi()),
]

#: as a project's asgi.py builds it (the HTTP side left out)
application = ProtocolTypeRouter(
    {"websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))}
)
