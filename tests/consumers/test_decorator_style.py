"""django-channels-router (the decorator style) ported to Channels 4.

Every example of django-channels-router's README runs here as written, except two Channels 1 relics:
``route_class(..., path=r'^/mypage/$')`` becomes ``URLRouter([path("mypage/", ...)])``, and
the disconnect hook's ``Socket.objects.all().send_json`` becomes ``socket.group_send`` to a
group another socket joined.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer
from channels.routing import URLRouter
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import path
from django.views import View

from tests.consumers.conftest import Connect, assert_error
from wsroute import ConfigError, DuplicateRouteError
from wsroute_django import RoutedSocketHandler, SocketRouter
from wsroute_django.consumer import SocketConsumer
from wsroute_django.testing import SocketClient, SocketClients

CHAT_GROUP = "chat"


class MyPage(View):
    socket = SocketRouter()

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("my page")

    @socket.connect
    def on_open(socket: SocketConsumer) -> None:
        socket.send_json({"connected": True})

    @socket.route("PING")
    def on_ping(socket: SocketConsumer, content: dict[str, Any]) -> None:
        socket.send_json(
            {
                "type": "PONG",
                "ts": datetime.now().timestamp(),
            }
        )

    @socket.route(re.compile("GAME_ACTION_.+"))
    def on_game_action(socket: SocketConsumer, content: dict[str, Any]) -> None:
        socket.send_json(
            {
                "received_action": content["action"],
                "action_type": content["type"],
            }
        )

    @socket.default_route
    def default_route(socket: SocketConsumer, content: dict[str, Any] | None = None) -> None:
        socket.send_json(
            {
                "type": "ERROR",
                "details": f"Got unknown message: {content}",
            }
        )

    @socket.disconnect
    def on_disconnect(socket: SocketConsumer, message: int) -> None:
        socket.group_send(
            CHAT_GROUP,
            "CHAT",
            {"recvd_message": f"User {socket.user.username} left chat."},
        )


class ChatRoom(View):
    """The other side of the disconnect notice: a page whose sockets join the chat group."""

    socket = SocketRouter()

    @socket.connect
    def join(socket: SocketConsumer) -> None:
        socket.group_add(CHAT_GROUP)


class PokerSocketHandler(RoutedSocketHandler):
    login_required = False

    routes = (
        *RoutedSocketHandler.routes,
        ("GET_GAMESTATE", "on_get_gamestate"),
        (re.compile("ACT_.+"), "on_game_action"),
    )

    def on_get_gamestate(self, content: dict[str, Any]) -> None:
        self.send_json({"type": "GAMESTATE", "pot": 120, "players": ["ann", "bob"]})

    def on_game_action(self, content: dict[str, Any]) -> None:
        self.send_json({"type": "ACTED", "action": content["type"].removeprefix("ACT_"), "amount": content["amount"]})


class PokerPage(View):
    socket = SocketRouter(handler=PokerSocketHandler)

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("game")


class MembersOnlyHandler(RoutedSocketHandler):
    login_required = True


class MembersPage(View):
    socket = SocketRouter(handler=MembersOnlyHandler)

    @socket.connect
    def greet(socket: SocketConsumer) -> None:
        socket.send_json({"type": "WELCOME", "user": socket.user.username})

    @socket.disconnect
    def bye(socket: SocketConsumer, code: int) -> None:
        socket.group_send(CHAT_GROUP, "CHAT", {"recvd_message": f"User {socket.user} left chat."})


class BareHandler(RoutedSocketHandler):
    pass


websocket_urlpatterns = [
    path("mypage/", MyPage.socket.as_asgi()),
    path("chat/", ChatRoom.socket.as_asgi()),
    path("poker/", PokerPage.socket.as_asgi()),
    path("members/", MembersPage.socket.as_asgi()),
    path("bare/", BareHandler.as_asgi()),
]
application = URLRouter(websocket_urlpatterns)


# -- the View and its consumer class ---------------------------------------------------------


def test_handler_is_the_consumer_class_and_as_asgi_its_app() -> None:
    handler = MyPage.socket.Handler
    assert isinstance(handler, type)
    assert issubclass(handler, RoutedSocketHandler)
    assert MyPage.socket.Handler is handler  # built once
    assert MyPage.socket.as_asgi().consumer_class is handler
    assert issubclass(PokerPage.socket.Handler, PokerSocketHandler)


def test_the_view_still_serves_http() -> None:
    response = MyPage.as_view()(RequestFactory().get("/mypage/"))
    assert response.status_code == 200
    assert response.content == b"my page"


# -- the README's handlers -------------------------------------------------------------------


async def test_connect_hook_sends_connected(connect: Connect) -> None:
    client = await connect(application, "/mypage/")
    assert await client.recv() == {"connected": True}
    await client.silent()


async def test_ping_route_answers_pong_with_a_timestamp(connect: Connect) -> None:
    client = await connect(application, "/mypage/")
    assert await client.recv() == {"connected": True}
    before = time.time()
    pong = await client.ask({"type": "PING"})
    after = time.time()
    assert set(pong) == {"type", "ts"}
    assert pong["type"] == "PONG"
    assert before <= pong["ts"] <= after


async def test_regex_route_gets_the_whole_message(connect: Connect) -> None:
    client = await connect(application, "/mypage/")
    assert await client.recv() == {"connected": True}
    reply = await client.ask({"type": "GAME_ACTION_FOLD", "action": "fold"})
    assert reply == {"received_action": "fold", "action_type": "GAME_ACTION_FOLD"}
    reply = await client.ask({"type": "GAME_ACTION_RAISE", "action": "raise"})
    assert reply == {"received_action": "raise", "action_type": "GAME_ACTION_RAISE"}


@pytest.mark.parametrize("kind", ["GAME_ACTION_", "XGAME_ACTION_FOLD", "game_action_fold", "TOTALLY_UNKNOWN"])
async def test_default_route_gets_what_nothing_else_matches(connect: Connect, kind: str) -> None:
    """The regex is matched in full, so near misses fall through to the default route."""
    client = await connect(application, "/mypage/")
    assert await client.recv() == {"connected": True}
    content = {"type": kind, "extra": 1}
    reply = await client.ask(content)
    assert reply == {"type": "ERROR", "details": f"Got unknown message: {content}"}


async def test_disconnect_hook_notifies_the_chat_group(connect: Connect) -> None:
    alice = get_user_model()(username="alice")
    listener = await connect(application, "/chat/")
    leaver = await connect(application, "/mypage/", user=alice)
    assert await leaver.recv() == {"connected": True}
    await listener.silent()

    await leaver.disconnect()

    assert await listener.recv() == {"type": "CHAT", "recvd_message": "User alice left chat."}
    await listener.silent()


# -- the handler-class example -----------------------------------------------------------------


async def test_poker_handler_routes_via_socket_router(
    channel_layer: BaseChannelLayer, socket_client: SocketClients
) -> None:
    client = await socket_client(application, "/poker/")
    assert client.routing_key == "type"  # found behind the URLRouter
    # The handlers send their answers with send_json, so they carry no ref: read them in order.
    await client.send({"type": "GET_GAMESTATE"})
    assert await client.receive() == {"type": "GAMESTATE", "pot": 120, "players": ["ann", "bob"]}
    await client.send({"type": "ACT_RAISE", "amount": 20})
    assert await client.receive() == {"type": "ACTED", "action": "RAISE", "amount": 20}
    pong = await client.request("PING", {"ref": 1})  # inherited from RoutedSocketHandler.routes
    assert pong["type"] == "PONG"
    assert pong["ref"] == 1
    # No default route: an unknown type is an error frame, and the socket stays open.
    assert_error(await client.expect_error("unknown_type", "ACT", {"ref": "r"}), "unknown_type", ref="r")
    await client.send({"type": "ACT_FOLD", "amount": 0})
    assert await client.receive() == {"type": "ACTED", "action": "FOLD", "amount": 0}
    await client.assert_nothing()


async def test_bare_routed_handler_answers_ping() -> None:
    async with SocketClient(BareHandler) as client:
        before = time.time()
        pong = await client.request("PING", {"ref": "hb-1"})
        assert set(pong) == {"type", "ts", "ref"}
        assert pong["type"] == "PONG"
        assert pong["ref"] == "hb-1"
        assert before <= pong["ts"] <= time.time()
        await client.send({"type": "PONG"})
        assert_error(await client.expect_error("unknown_type"), "unknown_type")


# -- login_required ------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", [False, True], ids=["no-user", "anonymous"])
async def test_login_required_closes_anonymous_sockets_with_4401_after_accept(
    channel_layer: BaseChannelLayer, socket_client: SocketClients, auth: bool
) -> None:
    listener = await socket_client(application, "/chat/")
    # no scope["user"] at all, or AuthMiddlewareStack's AnonymousUser (no session cookie)
    client = await socket_client(application, "/members/", auth=auth)  # accepted first...
    assert await client.expect_close(4401) == 4401  # ...then closed, so a browser sees the code
    assert client.frames == []  # no WELCOME before it
    await client.send({"type": "PING"})  # a frame racing the close reaches no handler
    await client.assert_nothing()
    await client.close(4401)
    # The socket never got in, so its disconnect hook does not announce it.
    await listener.assert_nothing()


async def test_login_required_lets_a_logged_in_user_in(
    channel_layer: BaseChannelLayer, socket_client: SocketClients
) -> None:
    user = await database_sync_to_async(get_user_model().objects.create_user)("carol", password="pw")
    listener = await socket_client(application, "/chat/")
    # logged in through a real session cookie, read by AuthMiddlewareStack
    client = await socket_client(application, "/members/", user=user, auth=True)
    assert await client.receive_event("WELCOME") == {"type": "WELCOME", "user": "carol"}
    assert (await client.request("PING"))["type"] == "PONG"
    await client.close()
    assert await listener.receive_event("CHAT") == {"type": "CHAT", "recvd_message": "User carol left chat."}
    await listener.assert_nothing()


# -- mistakes caught when the class is created --------------------------------------------------


def test_duplicate_route_in_one_view_names_both_functions() -> None:
    with pytest.raises(DuplicateRouteError) as caught:

        class Twice(View):
            socket = SocketRouter()

            @socket.route("X")
            def first_handler(socket: SocketConsumer, content: dict[str, Any]) -> None: ...

            @socket.route("X")
            def second_handler(socket: SocketConsumer, content: dict[str, Any]) -> None: ...

    message = str(caught.value)
    assert "first_handler" in message
    assert "second_handler" in message
    assert "'X'" in message


def test_duplicate_regex_route_in_one_view_is_an_error() -> None:
    with pytest.raises(DuplicateRouteError, match=r"one_way.*other_way"):

        class Twice(View):
            socket = SocketRouter()

            @socket.route(re.compile("GO_.+"))
            def one_way(socket: SocketConsumer, content: dict[str, Any]) -> None: ...

            @socket.route(re.compile("GO_.+"))
            def other_way(socket: SocketConsumer, content: dict[str, Any]) -> None: ...


def test_misspelt_decorator_suggests_the_right_name() -> None:
    with pytest.raises(AttributeError, match="'connect'"):

        class Typo(View):
            socket = SocketRouter()

            @socket.conect  # type: ignore[misc]
            def on_open(socket: SocketConsumer) -> None: ...


def test_routes_entry_naming_a_missing_method_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="on_missing"):

        class Broken(RoutedSocketHandler):
            routes = (*RoutedSocketHandler.routes, ("GO", "on_missing"))
