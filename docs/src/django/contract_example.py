"""The contract: what the AsyncAPI document and the TypeScript types say about two consumers."""

from __future__ import annotations

import re
from typing import Any, Literal

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path, re_path
from django.views import View
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from Python 3.12

from wsroute.typescript import render
from wsroute_django import JSONWebSocket, SocketConsumer, SocketRouter
from wsroute_django.contract import project_document


# --8<-- [start:subclass]
class Post(BaseModel):
    """A message for the room."""

    event: Literal["post"]
    text: str = Field(min_length=1, max_length=500)


class Posted(TypedDict):
    event: Literal["posted"]
    id: int


class Message(BaseModel):
    """Someone posted in the room."""

    id: int
    author: str
    text: str


class Room(JSONWebSocket):
    """A chat room: every socket in it receives every message."""

    emits = {"message": Message}  # frames sent by group_send/send_json, not as replies

    async def on_post(self, event: Post) -> Posted:  # request: Post; reply: Posted
        await self.group_send("room", "message", {"id": 1, "author": "ada", "text": event.text})
        return {"event": "posted", "id": 1}


# --8<-- [end:subclass]


# --8<-- [start:decorator]
class Move(BaseModel):
    type: Literal["MOVE"]
    cell: int = Field(ge=0, le=8)


class Board(BaseModel):
    cells: list[str]


class GamePage(View):
    socket = SocketRouter(emits={"BOARD": Board})

    @socket.route("MOVE")
    def move(socket: SocketConsumer, content: Move) -> Board:
        return Board(cells=["."] * 9)

    @socket.route(re.compile(r"CHEAT_(.+)"))
    def cheat(socket: SocketConsumer, content: dict[str, Any]) -> None:
        socket.close(4403)


# --8<-- [end:decorator]

# --8<-- [start:asgi]
websocket_urlpatterns = [
    path("ws/", URLRouter([re_path(r"^rooms/(?P<room>[a-z]+)/$", Room.as_asgi())])),
    path("ws/game/<int:game>/", GamePage.socket.as_asgi()),
]
application = ProtocolTypeRouter(
    {"websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))}
)
# --8<-- [end:asgi]


def document() -> dict[str, Any]:
    built, problems = project_document(application, title="Rooms and games", version="1.0.0")
    assert not problems, problems
    return built


def main() -> list[str]:
    """The document's outline: each channel, its parameters, its operations."""
    built = document()
    shown = []
    for channel_id, channel in built["channels"].items():
        shown.append(f"channel {channel_id}: {channel['address']} {sorted(channel.get('parameters', {}))}")
        for operation_id, operation in built["operations"].items():
            if operation["channel"]["$ref"] == f"#/channels/{channel_id}":
                replies = [ref["$ref"].rpartition("/")[2] for ref in operation.get("reply", {}).get("messages", [])]
                reply = f" -> {', '.join(replies)}" if replies else ""
                shown.append(f"  {operation['action']:7} {operation_id.partition('.')[2]}{reply}")
    return shown


def typescript() -> list[str]:
    """The interface of the room's channel in the generated .d.ts."""
    text = render(document())
    start = text.index("export interface Room ")
    return text[text.rindex("/**", 0, start) : text.index("\n}\n", start) + 2].splitlines()
