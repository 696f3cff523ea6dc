"""Broadcasting to a group without the sender, from a handler and from anywhere."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from wsroute_django import JSONWebSocket, send_to_group


# --8<-- [start:handler]
class Lobby(JSONWebSocket):
    def on_connect(self) -> None:
        self.group_add("lobby")

    def on_say(self, event: dict[str, Any]) -> None:
        # everyone in the lobby but this socket: its own text is already on its screen
        self.group_send("lobby", "said", {"text": event["text"]}, exclude_self=True)


# --8<-- [end:handler]


# --8<-- [start:anywhere]
def close_lobby() -> None:  # a view, a Celery task, a management command
    send_to_group("lobby", "closing", {"in_minutes": 5})


# --8<-- [end:anywhere]


# --8<-- [start:main]
async def main() -> list[str]:
    shown: list[str] = []
    ada, bob = (WebsocketCommunicator(Lobby.as_asgi(), "/lobby/") for _ in range(2))
    for client in (ada, bob):
        await client.connect()

    await ada.send_json_to({"event": "say", "text": "hi"})
    shown.append(f"bob <- {json.dumps(await bob.receive_json_from())}")

    await sync_to_async(close_lobby)()
    shown.append(f"ada <- {json.dumps(await ada.receive_json_from())}")  # "said" never reached ada
    shown.append(f"bob <- {json.dumps(await bob.receive_json_from())}")
    for client in (ada, bob):
        await client.disconnect()
    return shown


# --8<-- [end:main]
