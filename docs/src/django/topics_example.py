"""Topics and presence in both styles."""

from __future__ import annotations

import json
from typing import Any

from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.views import View

from wsroute_django import Forbidden, Join, JSONWebSocket, RoutedSocketHandler, SocketRouter, send_to_topic, topic


class PersistedHandler(RoutedSocketHandler):
    persist = True  # presence is kept in the Socket rows


# --8<-- [start:decorator]
class ChatPage(View):
    socket = SocketRouter(handler=PersistedHandler)

    @socket.topic("room:{id}")
    def join_room(socket, join: Join) -> dict[str, Any]:
        if join.params["id"] == "staff" and not socket.user.is_staff:
            raise Forbidden("staff only")
        return {"motd": f"welcome to room {join.params['id']}"}  # the reply's "data"

    @socket.presence_meta
    def describe(socket, topic: str) -> dict[str, Any]:
        return {"name": socket.user.username}

    @socket.route("SAY")
    def say(socket, content: dict[str, Any]) -> None:
        # content["topic"] is a topic this socket joined, or the frame got not_joined
        socket.broadcast(content["topic"], "SAID", {"text": content["text"]}, exclude_self=True)


# --8<-- [end:decorator]


# --8<-- [start:subclass]
class Chat(JSONWebSocket):
    persist = True

    @topic("room:{id}")
    def join_room(self, join: Join) -> None:
        if join.params["id"] == "staff" and not self.user.is_staff:
            raise Forbidden("staff only")

    def presence_meta(self, topic: str) -> dict[str, Any]:
        return {"name": self.user.username}

    def on_say(self, event: dict[str, Any]) -> None:
        self.broadcast(event["topic"], "said", {"text": event["text"]}, exclude_self=True)


# --8<-- [end:subclass]


# --8<-- [start:anywhere]
def announce_closing(room_id: int) -> None:  # a view, a Celery task, a management command
    send_to_topic(f"room:{room_id}", "closing", {"in_minutes": 5})


# --8<-- [end:anywhere]


# --8<-- [start:main]
async def main() -> list[str]:
    shown: list[str] = []
    users = get_user_model().objects
    ada, bob = await users.acreate(pk=1, username="ada"), await users.acreate(pk=2, username="bob")

    async def open_socket(user: Any, app: Any = None) -> WebsocketCommunicator:
        client = WebsocketCommunicator(app or ChatPage.socket.as_asgi(), "/chat/")
        client.scope["user"] = user
        await client.connect()
        return client

    def show(name: str, frame: dict[str, Any]) -> None:
        shown.append(f"{name} <- {json.dumps(frame)}")

    ada_tab = await open_socket(ada)
    await ada_tab.send_json_to({"type": "JOIN", "topic": "room:1", "ref": 1})
    show("ada", await ada_tab.receive_json_from())

    bob_tab = await open_socket(bob)
    await bob_tab.send_json_to({"type": "JOIN", "topic": "room:1", "ref": 1})
    show("bob", await bob_tab.receive_json_from())
    show("ada", await ada_tab.receive_json_from())  # bob arrived

    await bob_tab.send_json_to({"type": "SAY", "topic": "room:1", "text": "hi ada"})
    show("ada", await ada_tab.receive_json_from())

    await bob_tab.send_json_to({"type": "JOIN", "topic": "room:staff", "ref": 2})
    show("bob", await bob_tab.receive_json_from())

    bob_chat = await open_socket(bob, Chat.as_asgi())  # a second tab, in the subclass style
    await bob_chat.send_json_to({"event": "join", "topic": "room:1"})
    show("bob's 2nd tab", await bob_chat.receive_json_from())  # no diff: bob was there already
    await bob_tab.disconnect()  # one of bob's tabs closes: bob is still here
    await ada_tab.send_json_to({"type": "SAY", "topic": "room:1", "text": "still there?"})
    show("bob's 2nd tab", await bob_chat.receive_json_from())
    await bob_chat.disconnect()  # bob's last tab: bob leaves
    show("ada", await ada_tab.receive_json_from())
    await ada_tab.disconnect()
    return shown


# --8<-- [end:main]
