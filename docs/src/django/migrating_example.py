"""The consumers of the django-channels-router and django-easy-channels READMEs, ported to wsroute,
and the behaviour that changed."""

from __future__ import annotations

import json
import re
from typing import Any

from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path, re_path
from django.views import View

from wsroute_django import JSONWebSocket, SocketConsumer, SocketRouter
from wsroute_django.models import Socket


# --8<-- [start:channels_router]
class MyPage(View):
    socket = SocketRouter()

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("my page")

    @socket.connect
    def on_open(socket: SocketConsumer) -> None:
        socket.send_json({"connected": True})

    @socket.route(re.compile("GAME_ACTION_.+"))
    def on_game_action(socket: SocketConsumer, content: dict[str, Any]) -> None:
        socket.send_json({"received_action": content["action"], "action_type": content["type"]})

    @socket.default_route
    def default_route(socket: SocketConsumer, content: dict[str, Any] | None = None) -> None:
        socket.send_json({"type": "ERROR", "details": f"Got unknown message: {content['type']}"})

    @socket.disconnect
    def on_disconnect(socket: SocketConsumer, message: int) -> None:  # `message` is now the close code
        Socket.objects.all().send_json({"type": "CHAT", "recvd_message": f"User {socket.user.username} left chat."})


# --8<-- [end:channels_router]


# --8<-- [start:easy_channels]
class ChatConsumer(JSONWebSocket):
    def on_connect(self) -> None:
        self.name = self.scope["url_route"]["kwargs"]["name"]
        if self.name == "mallory":
            self.close()  # accepted first, so the browser sees 4403
            return
        self.group_add("chatroom")
        self.accept()  # optional now: returning without closing accepts

    def on_broadcast_message(self, event: dict[str, Any]) -> None:
        payload = {"message": event["message"], "from": self.name, "type": "text"}
        self.group_send("chatroom", "message", payload)  # a plain def: no await


# --8<-- [end:easy_channels]

# --8<-- [start:routing]
websocket_urlpatterns = [
    path("mypage/", MyPage.socket.as_asgi()),  # was route_class(MyPage.socket.Handler, path=r"^/mypage/$")
    re_path(r"^ws/chat/(?P<name>\w+)/$", ChatConsumer.as_asgi()),  # was consumers.ChatConsumer
]
# --8<-- [end:routing]

application = URLRouter(websocket_urlpatterns)


# --8<-- [start:main]
@override_settings(WSROUTE={"PERSIST": True})  # the default, which the docs' test settings turn off
async def main() -> list[str]:
    shown: list[str] = []

    async def receive(name: str, client: WebsocketCommunicator) -> None:
        shown.append(f"{name} <- {json.dumps(await client.receive_json_from())}")

    players = {}
    for name in ("ada", "bob"):
        players[name] = WebsocketCommunicator(application, "/mypage/")
        players[name].scope["user"] = await get_user_model().objects.acreate(username=name)
        await players[name].connect()
        await receive(name, players[name])
    ada, bob = players["ada"], players["bob"]
    for frame in [{"type": "GAME_ACTION_FOLD", "action": "fold"}, {"type": "SHUFFLE"}]:
        await ada.send_json_to(frame)
        await receive("ada", ada)
    await ada.disconnect()
    await receive("bob", bob)
    await bob.disconnect()

    joselito = WebsocketCommunicator(application, "/ws/chat/joselito/")
    await joselito.connect()
    for text in [
        '{"event": "broadcast_message", "message": "Hello World!"}',
        '{"event": "dance"}',
        '{"event": "connect"}',
        "Hello?",
        '{"event": "broadcast_message", "message": "still here"}',
    ]:
        await joselito.send_to(text_data=text)
        await receive("joselito", joselito)
    await joselito.disconnect()

    mallory = WebsocketCommunicator(application, "/ws/chat/mallory/")
    connected, _ = await mallory.connect()
    shown.append(f"mallory accepted: {connected}, then closed with {(await mallory.receive_output())['code']}")
    await mallory.disconnect()
    return shown


# --8<-- [end:main]
