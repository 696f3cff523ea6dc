"""Sending to sockets from anywhere: ``Socket.objects.filter(...).send_json(...)`` and friends."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.views import View

from tests.rows.conftest import TIMEOUT, Sockets, make_user
from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketMiddleware, SocketRouter
from wsroute_django.consumer import SocketConsumer
from wsroute_django.models import Socket

pytestmark = pytest.mark.django_db(transaction=True)


class Stamp(SocketMiddleware):
    """Marks every frame sent to the client, to show sends take the ``on_send`` pipeline."""

    def on_send(self, content: dict[str, Any]) -> dict[str, Any]:
        return {**content, "stamped": type(self.consumer).__name__}


class Chat(JSONWebSocket):
    """Subclass style: routing key ``event``."""

    persist = True
    middlewares = [Stamp]


class Persisted(RoutedSocketHandler):
    persist = True
    middlewares = [Stamp]


class Page(View):
    """Decorator style: routing key ``type``."""

    socket = SocketRouter(handler=Persisted)


PageSocket = Page.socket.Handler


async def receive(communicator: WebsocketCommunicator) -> dict[str, Any]:
    frame: dict[str, Any] = await communicator.receive_json_from(timeout=TIMEOUT)
    return frame


async def test_send_json_from_sync_code(sockets: Sockets, alice: Any, bob: Any) -> None:
    at_alice = await sockets.connect(Chat, "/chat/", user=alice)
    at_bob = await sockets.connect(PageSocket, "/chat/", user=bob)

    # a view, a Celery task, a management command: plain sync code in a thread
    addressed = await database_sync_to_async(
        lambda: Socket.objects.filter(path="/chat/").send_json({"type": "NEWS", "text": "hi"})
    )()

    assert addressed == 2
    assert await receive(at_alice) == {"type": "NEWS", "text": "hi", "stamped": "Chat"}
    assert await receive(at_bob) == {"type": "NEWS", "text": "hi", "stamped": "Handler"}


async def test_asend_json_from_async_code(sockets: Sockets, alice: Any, bob: Any) -> None:
    at_alice = await sockets.connect(Chat, "/chat/", user=alice)
    at_bob = await sockets.connect(PageSocket, "/chat/", user=bob)

    addressed = await Socket.objects.filter(path="/chat/").asend_json({"event": "news"})

    assert addressed == 2
    assert await receive(at_alice) == {"event": "news", "stamped": "Chat"}
    assert await receive(at_bob) == {"event": "news", "stamped": "Handler"}


async def test_an_empty_queryset_addresses_nobody(sockets: Sockets, alice: Any) -> None:
    await sockets.connect(Chat, "/chat/", user=alice)

    assert await Socket.objects.on_path("/nowhere/").asend_json({"x": 1}) == 0
    assert await database_sync_to_async(lambda: Socket.objects.none().send_event("x"))() == 0


async def test_send_event_uses_each_consumers_routing_key(sockets: Sockets, alice: Any, bob: Any) -> None:
    subclass_style = await sockets.connect(Chat, "/chat/", user=alice)
    decorator_style = await sockets.connect(PageSocket, "/page/", user=bob)

    addressed = await database_sync_to_async(lambda: Socket.objects.all().send_event("notify", {"n": 1}))()
    assert addressed == 2
    assert await receive(subclass_style) == {"event": "notify", "n": 1, "stamped": "Chat"}
    assert await receive(decorator_style) == {"type": "notify", "n": 1, "stamped": "Handler"}

    assert await Socket.objects.all().asend_event("bare") == 2
    assert await receive(subclass_style) == {"event": "bare", "stamped": "Chat"}
    assert await receive(decorator_style) == {"type": "bare", "stamped": "Handler"}


async def test_payload_keys_never_collide_with_the_layer_type(sockets: Sockets, alice: Any) -> None:
    communicator = await sockets.connect(PageSocket, "/page/", user=alice)

    assert await Socket.objects.all().asend_event("notify", {"event": "kept", "channel": "x"}) == 1
    assert await receive(communicator) == {"type": "notify", "event": "kept", "channel": "x", "stamped": "Handler"}


@pytest.mark.parametrize("from_sync", [True, False])
async def test_close_closes_the_sockets_with_the_code(sockets: Sockets, alice: Any, from_sync: bool) -> None:
    first = await sockets.connect(Chat, "/chat/", user=alice)
    second = await sockets.connect(PageSocket, "/page/", user=alice)

    if from_sync:
        addressed = await database_sync_to_async(lambda: Socket.objects.for_user(alice).close(4000))()
    else:
        addressed = await Socket.objects.for_user(alice).aclose(4000)

    assert addressed == 2
    for communicator in (first, second):
        assert await communicator.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4000}
        # the server then reports the close; the row goes with it
        await sockets.disconnect(communicator, code=4000)
    assert await Socket.objects.acount() == 0


async def test_for_user_only_reaches_that_users_sockets(sockets: Sockets, alice: Any, bob: Any) -> None:
    alice_here = await sockets.connect(Chat, "/chat/", user=alice)
    alice_there = await sockets.connect(PageSocket, "/page/", user=alice)
    at_bob = await sockets.connect(Chat, "/chat/", user=bob)
    carol = await make_user("carol")

    assert await database_sync_to_async(lambda: Socket.objects.for_user(alice).send_json({"to": "alice"}))() == 2
    assert await Socket.objects.for_user(carol).asend_json({"to": "carol"}) == 0  # no sockets
    # Each channel delivers in order: a later send to everyone shows what came before it.
    assert await Socket.objects.all().asend_json({"to": "all"}) == 3

    assert await receive(alice_here) == {"to": "alice", "stamped": "Chat"}
    assert await receive(alice_here) == {"to": "all", "stamped": "Chat"}
    assert await receive(alice_there) == {"to": "alice", "stamped": "Handler"}
    assert await receive(alice_there) == {"to": "all", "stamped": "Handler"}
    assert await receive(at_bob) == {"to": "all", "stamped": "Chat"}  # nothing for alice reached bob


async def test_for_user_close_leaves_other_users_connected(sockets: Sockets, alice: Any, bob: Any) -> None:
    at_alice = await sockets.connect(Chat, "/chat/", user=alice)
    at_bob = await sockets.connect(Chat, "/chat/", user=bob)

    assert await Socket.objects.for_user(alice).aclose(4000) == 1
    assert await at_alice.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4000}
    await sockets.disconnect(at_alice, code=4000)

    assert await Socket.objects.all().asend_json({"still": "here"}) == 1
    assert await receive(at_bob) == {"still": "here", "stamped": "Chat"}


async def test_django_channels_router_disconnect_hook_tells_the_others(sockets: Sockets, alice: Any, bob: Any) -> None:
    """django-channels-router's example, as written there: a sync hook using the sync queryset API."""

    class MyPage(View):
        socket = SocketRouter(handler=Persisted)

        @socket.disconnect
        def on_disconnect(socket: SocketConsumer, message: int) -> None:  # type: ignore[misc]  # django-channels-router's signature
            Socket.objects.all().send_json(
                {
                    "type": "CHAT",
                    "recvd_message": "User {} left chat.".format(socket.user.username),  # noqa: UP032  # django-channels-router's code
                }
            )

    at_alice = await sockets.connect(MyPage.socket.as_asgi(), "/mypage/", user=alice)
    at_bob = await sockets.connect(MyPage.socket.as_asgi(), "/mypage/", user=bob)

    await sockets.disconnect(at_alice)

    assert await receive(at_bob) == {"type": "CHAT", "recvd_message": "User alice left chat.", "stamped": "Handler"}
    assert [row.user_id async for row in Socket.objects.all()] == [bob.pk]
