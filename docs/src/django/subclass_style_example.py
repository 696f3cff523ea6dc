"""The subclass style: a JSONWebSocket with on_<event> methods, groups, middleware and validation."""

from __future__ import annotations

import json
from typing import Any, Literal

from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import path
from django.utils.text import slugify
from pydantic import BaseModel, Field

from wsroute_django import JSONWebSocket, SocketMiddleware


# --8<-- [start:consumer]
class Nickname(SocketMiddleware):
    def on_connect(self) -> None:  # runs before the consumer's on_connect
        self.consumer.name = self.scope["url_route"]["kwargs"]["name"]


class Say(BaseModel):
    event: Literal["say"]
    text: str = Field(min_length=1, max_length=500)


class ChatConsumer(JSONWebSocket):
    middlewares = [Nickname]

    def on_connect(self) -> None:
        self.group_add("chatroom")  # accepted for you when this returns

    async def on_say(self, event: Say) -> None:  # {"event": "say", "text": "..."}
        await self.group_send("chatroom", "message", {"text": event.text, "from": self.name})

    def on_join(self, event: dict[str, Any]) -> dict[str, Any]:  # {"event": "join", "room": "..."}
        self.group_add(f"room.{slugify(event['room'])}")  # group names: ASCII, no spaces
        return {"event": "joined", "room": event["room"]}

    def on_poke(self, event: dict[str, Any]) -> None:
        # runs on_refresh in every consumer of the group; nothing goes to the clients
        self.group_call_event("chatroom", "refresh", {"by": self.name})

    def on_refresh(self, event: dict[str, Any]) -> None:
        self.send_json({"event": "refreshed", "by": event["by"]})

    def on_disconnect(self, code: int) -> None:
        self.group_send("chatroom", "message", {"text": "bye", "from": self.name})


websocket_urlpatterns = [path("chat/<str:name>/", ChatConsumer.as_asgi())]
# --8<-- [end:consumer]

application = URLRouter(websocket_urlpatterns)


# --8<-- [start:main]
async def main() -> list[str]:
    shown: list[str] = []

    async def receive(name: str, client: WebsocketCommunicator) -> None:
        shown.append(f"{name} <- {json.dumps(await client.receive_json_from())}")

    ada = WebsocketCommunicator(application, "/chat/ada/")
    bob = WebsocketCommunicator(application, "/chat/bob/")
    await ada.connect()
    await bob.connect()

    await ada.send_json_to({"event": "say", "text": "hi"})
    await receive("ada", ada)
    await receive("bob", bob)
    for frame in [
        {"event": "join", "room": "lobby", "ref": 1},
        {"event": "say", "text": "", "ref": 2},
        {"event": "connect", "ref": 3},
    ]:
        await ada.send_json_to(frame)
        await receive("ada", ada)

    await bob.send_json_to({"event": "poke"})
    await receive("ada", ada)
    await receive("bob", bob)
    await bob.disconnect()
    await receive("ada", ada)
    await ada.disconnect()
    return shown


# --8<-- [end:main]
