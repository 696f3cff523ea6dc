"""Testing consumers of both styles with wsroute_django.testing: pytest, and Django's TestCase.

tests/testclient/test_plugin.py runs this file under pytest (pytest-django, pytest-asyncio),
with ASGI_APPLICATION pointing at ``application`` below, as a project's tests would run.
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth import get_user_model
from django.test import TestCase
from django.urls import path
from django.views import View
from pydantic import BaseModel, Field

from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketRouter
from wsroute_django.models import Socket
from wsroute_django.testing import ErrorReply, SocketClient, SocketClients

User = get_user_model()


# --8<-- [start:consumers]
class Say(BaseModel):
    text: str = Field(min_length=1, max_length=200)


class Chat(JSONWebSocket):  # subclass style: frames are {"event": ...}
    def on_connect(self) -> None:
        self.room = f"chat.{self.scope['url_route']['kwargs']['room']}"
        self.group_add(self.room)

    async def on_say(self, event: Say) -> dict[str, Any]:
        await self.group_send(self.room, "message", {"text": event.text, "from": self.user.get_username()})
        return {"event": "sent"}


class Players(RoutedSocketHandler):
    login_required = True  # anonymous sockets are closed with 4401
    persist = True  # a Socket row per connection


class Table(View):  # decorator style: frames are {"type": ...}
    socket = SocketRouter(handler=Players)

    @socket.route("SOCKETS")
    def sockets(socket: Any, content: dict[str, Any]) -> dict[str, Any]:  # sync: the ORM works here
        return {"type": "SOCKETS", "open": Socket.objects.filter(user=socket.user).count()}


websocket_urlpatterns = [
    path("ws/chat/<slug:room>/", Chat.as_asgi()),
    path("ws/table/", Table.socket.as_asgi()),
]
application = ProtocolTypeRouter(  # the project's ASGI_APPLICATION
    {"websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))}
)
# --8<-- [end:consumers]


# --8<-- [start:pytest]
async def test_a_message_reaches_the_room(socket_client: SocketClients) -> None:
    alice = await User.objects.acreate(username="alice")
    bob = await User.objects.acreate(username="bob")
    # A URL path goes through ASGI_APPLICATION: origin check, session cookie, URL routing.
    sender = await socket_client("/ws/chat/lobby/", user=alice)
    listener = await socket_client("/ws/chat/lobby/", user=bob)

    reply = await sender.request("say", text="hello")  # sends {"event": "say", "text": "hello", "ref": ...}
    assert reply["event"] == "sent"
    assert await listener.receive_event("message") == {"event": "message", "text": "hello", "from": "alice"}
    assert await sender.receive_event("message") == {"event": "message", "text": "hello", "from": "alice"}


async def test_an_empty_message_is_refused(socket_client: SocketClients) -> None:
    client = await socket_client("/ws/chat/lobby/")  # anonymous
    error = await client.expect_error("validation_error", "say", text="")
    assert error["errors"][0]["loc"] == ["text"]
    await client.assert_nothing()  # nothing was broadcast


async def test_each_socket_has_its_row(socket_client: SocketClients) -> None:
    carol = await User.objects.acreate(username="carol")
    # A SocketRouter (or a consumer class) is served as it is, behind AuthMiddlewareStack.
    await socket_client(Table.socket, "/ws/table/", user=carol)
    second = await socket_client(Table.socket, "/ws/table/", user=carol)
    assert (await second.request("SOCKETS"))["open"] == 2


async def test_anonymous_players_are_turned_away(socket_client: SocketClients) -> None:
    client = await socket_client(Table.socket, "/ws/table/")
    assert await client.expect_close() == 4401


# --8<-- [end:pytest]


# --8<-- [start:testcase]
class ChatTests(TestCase):
    async def test_a_message_reaches_the_room(self) -> None:
        alice = await User.objects.acreate(username="alice")
        async with SocketClient("/ws/chat/lobby/", user=alice) as client:
            reply = await client.request("say", text="hi")
            self.assertEqual(reply["event"], "sent")
            message = await client.receive_event("message")
            self.assertEqual(message, {"event": "message", "text": "hi", "from": "alice"})

    async def test_each_socket_has_its_row(self) -> None:
        carol = await User.objects.acreate(username="carol")
        async with SocketClient(Table.socket, "/ws/table/", user=carol) as client:
            self.assertEqual(await Socket.objects.filter(user=carol).acount(), 1)
            self.assertEqual((await client.request("SOCKETS"))["open"], 1)
        self.assertFalse(await Socket.objects.filter(user=carol).aexists())  # deleted on disconnect


# --8<-- [end:testcase]


# --8<-- [start:main]
async def main() -> list[str]:
    """The message of a failed expectation: what went wrong, then every frame received."""
    async with SocketClient(application, "/ws/chat/lobby/") as client:  # any ASGI application
        try:
            await client.request("shout", {"text": "hi", "ref": 1})
        except ErrorReply as failure:
            return str(failure).splitlines()
    raise AssertionError("shout has no route")


# --8<-- [end:main]
