"""Consumers and ASGI applications the contract tests describe: both styles, nested routers,
middleware stacks, and the things an export must report instead of crashing on."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path, re_path
from django.views import View
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketConsumer, SocketRouter


class Say(BaseModel):
    event: Literal["say"]
    text: str = Field(min_length=1)


class Sent(TypedDict):
    event: Literal["sent"]


class Said(BaseModel):
    """Someone said something."""

    text: str


class Chat(JSONWebSocket):
    """The chat."""

    emits = {"said": Said, "anything": None}

    async def on_say(self, event: Say) -> Sent:
        """Say something to the room."""
        return {"event": "sent"}

    def on_who(self) -> None:
        pass

    def on_maybe(self, event: dict[str, Any]) -> Sent | None:
        return None


class Move(BaseModel):
    type: Literal["MOVE"]
    cell: int


class Ok(BaseModel):
    type: Literal["OK"]


class Game(View):
    socket = SocketRouter(emits={"STATE": Ok})

    @socket.route("MOVE")
    def move(socket: SocketConsumer, content: Move) -> Ok:
        return Ok(type="OK")

    @socket.route(re.compile(r"ACT_(?P<action>[A-Z]+)"))
    def act(socket: SocketConsumer, content: dict[str, Any], match: re.Match[str]):  # type: ignore[no-untyped-def]
        return {"type": "ACTED"}

    @socket.default_route
    def unknown(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "UNKNOWN"}


class Custom(RoutedSocketHandler):
    type_key = "action"
    error_value = "failed"
    routes = (*RoutedSocketHandler.routes, ("go", "on_go", Move))

    def on_go(self, content: Move) -> None:
        pass


websocket_urlpatterns = [
    path("ws/", URLRouter([re_path(r"^chat/(?P<room>[a-z]+)/?$", Chat.as_asgi())])),
    path("ws/game/<int:game>/", Game.socket.as_asgi(), name="game"),
    re_path(r"^ws/custom/$", Custom.as_asgi()),
]
application = ProtocolTypeRouter(
    {"websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))}
)


# -- what cannot be described ---------------------------------------------------------------


class Unexpressible(BaseModel):
    callback: Callable[[int], int]


class BadSchemas(JSONWebSocket):
    emits = {"fine": Said, "broken": Unexpressible}

    def on_send(self, event: Unexpressible) -> None:
        pass


class Plain(AsyncJsonWebsocketConsumer):  # type: ignore[misc]  # channels has no type hints
    """A Channels consumer, not a wsroute one."""


async def opaque_app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI application nobody can look into."""


problems_application = URLRouter(
    [
        path("bad/", BadSchemas.as_asgi()),
        path("plain/", Plain.as_asgi()),
        path("opaque/", opaque_app),
        re_path(r"^odd/(\d+)/$", Chat.as_asgi()),
    ]
)
