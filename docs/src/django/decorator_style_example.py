"""The decorator style: a SocketRouter on a Django View, routed in asgi.py, driven by a test client."""

from __future__ import annotations

import json
import re
from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.asgi import get_asgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views import View

from wsroute_django import RoutedSocketHandler, SocketConsumer, SocketRouter


# --8<-- [start:views]
class GamePage(View):
    socket = SocketRouter()

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("the game page")

    @socket.connect
    def on_open(socket: SocketConsumer) -> None:  # sync: runs in a worker thread, no await
        socket.group_add("game")
        socket.send_json({"type": "WELCOME", "user": str(socket.user)})

    @socket.route("MOVE")
    async def on_move(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:  # async: await
        await socket.group_send("game", "MOVED", {"to": content["to"]})
        return {"type": "MOVE_OK"}

    @socket.route(re.compile(r"ACT_(?P<action>[A-Z]+)"))
    def on_action(socket: SocketConsumer, content: dict[str, Any], match: re.Match[str]) -> dict[str, Any]:
        return {"type": "ACTED", "action": match["action"].lower()}

    @socket.default_route
    def unknown(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "UNKNOWN", "got": content["type"]}

    @socket.disconnect
    def on_close(socket: SocketConsumer, code: int) -> None:
        socket.group_send("game", "LEFT", {"code": code})


# --8<-- [end:views]


# --8<-- [start:handler]
class PokerSocketHandler(RoutedSocketHandler):
    login_required = True  # anonymous sockets are closed with 4401

    routes = (
        *RoutedSocketHandler.routes,  # keeps the built-in PING -> PONG
        ("GET_GAMESTATE", "on_get_gamestate"),
        (re.compile("BET_[0-9]+"), "on_bet"),
    )

    def on_get_gamestate(self, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "GAMESTATE", "player": self.user.get_username(), "pot": 120}

    async def on_bet(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "BET_TAKEN", "amount": int(content["type"][4:])})


class PokerPage(View):
    socket = SocketRouter(handler=PokerSocketHandler)

    @socket.connect
    def greet(socket: SocketConsumer) -> None:
        socket.send_json({"type": "HELLO", "player": socket.user.get_username()})


# --8<-- [end:handler]

# --8<-- [start:asgi]
websocket_urlpatterns = [
    path("game/", GamePage.socket.as_asgi()),
    path("poker/", PokerPage.socket.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        "http": get_asgi_application(),
        # refuses sockets opened by pages of other sites (whose Origin is not in ALLOWED_HOSTS)
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
# --8<-- [end:asgi]


# --8<-- [start:main]
async def main() -> list[str]:
    shown: list[str] = []

    async def receive(name: str, client: WebsocketCommunicator) -> None:
        shown.append(f"{name} <- {json.dumps(await client.receive_json_from())}")

    alice = WebsocketCommunicator(application, "/game/")  # AuthMiddlewareStack: anonymous
    bob = WebsocketCommunicator(application, "/game/")
    for name, client in [("alice", alice), ("bob", bob)]:
        await client.connect()
        await receive(name, client)  # WELCOME
    await alice.send_json_to({"type": "MOVE", "to": "e4", "ref": 1})
    await receive("alice", alice)  # the reply
    await receive("alice", alice)  # the group message, to every socket in "game"
    await receive("bob", bob)
    for frame in [{"type": "ACT_FOLD", "ref": 2}, {"type": "DANCE"}]:
        await alice.send_json_to(frame)
        await receive("alice", alice)
    await alice.disconnect()
    await receive("bob", bob)  # LEFT, sent by alice's disconnect hook
    await bob.disconnect()

    guest = WebsocketCommunicator(application, "/poker/")
    await guest.connect()
    shown.append(f"guest closed with {(await guest.receive_output())['code']}")
    await guest.disconnect()

    carol = WebsocketCommunicator(PokerPage.socket.as_asgi(), "/poker/")
    carol.scope["user"] = get_user_model()(username="carol")  # as if logged in
    await carol.connect()
    await receive("carol", carol)  # HELLO
    for frame in [{"type": "GET_GAMESTATE"}, {"type": "BET_50", "ref": 3}]:
        await carol.send_json_to(frame)
        await receive("carol", carol)
    await carol.disconnect()
    return shown


# --8<-- [end:main]
