"""Broadcasts that skip the sender, from handlers and from anywhere (``send_to_group``)."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.views import View

from tests.rows.conftest import TIMEOUT, Sockets
from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketRouter, asend_to_group, send_to_group
from wsroute_django.consumer import SocketConsumer
from wsroute_django.models import Socket

pytestmark = pytest.mark.django_db(transaction=True)


class Room(JSONWebSocket):
    persist = True

    async def on_connect(self) -> None:
        await self.group_add("room")

    async def on_say(self, event: dict[str, Any]) -> None:
        await self.group_send("room", "said", {"text": event["text"]}, exclude_self=True)

    def on_say_sync(self, event: dict[str, Any]) -> None:  # sync handlers too, without await
        self.group_send("room", "said", {"text": event["text"]}, exclude=self)

    async def on_shout(self, event: dict[str, Any]) -> None:  # the client's payload is only data
        await self.group_send("room", "shouted", {key: value for key, value in event.items() if key != "event"})


class Page(View):
    socket = SocketRouter(handler=type("Persisted", (RoutedSocketHandler,), {"persist": True}))

    @socket.connect
    async def joined(socket: SocketConsumer) -> None:  # type: ignore[misc]
        await socket.group_add("room")

    @socket.route("SAY")
    async def say(socket: SocketConsumer, content: dict[str, Any]) -> None:  # type: ignore[misc]
        await socket.group_send("room", "SAID", {"text": content["text"]}, exclude=socket)


async def receive(communicator: Any) -> dict[str, Any]:
    frame: dict[str, Any] = await communicator.receive_json_from(timeout=TIMEOUT)
    return frame


@pytest.mark.parametrize("event", ["say", "say_sync"])
async def test_exclude_self_skips_only_the_sender(sockets: Sockets, event: str) -> None:
    sender, other, third = [await sockets.connect(Room, "/room/") for _ in range(3)]

    await sender.send_json_to({"event": event, "text": "hi"})

    assert await receive(other) == {"event": "said", "text": "hi"}
    assert await receive(third) == {"event": "said", "text": "hi"}
    # the sender's next frame is the answer to a later broadcast from someone else
    await other.send_json_to({"event": "say", "text": "back"})
    assert await receive(sender) == {"event": "said", "text": "back"}


async def test_decorator_style_excludes_the_socket(sockets: Sockets) -> None:
    sender = await sockets.connect(Page.socket.as_asgi(), "/page/")
    other = await sockets.connect(Page.socket.as_asgi(), "/page/")

    await sender.send_json_to({"type": "SAY", "text": "hi"})
    assert await receive(other) == {"type": "SAID", "text": "hi"}
    await other.send_json_to({"type": "SAY", "text": "yo"})
    assert await receive(sender) == {"type": "SAID", "text": "yo"}


async def test_a_payload_cannot_exclude_anyone(sockets: Sockets) -> None:
    sender = await sockets.connect(Room, "/room/")
    other = await sockets.connect(Room, "/room/")
    other_row = await Socket.objects.exclude(pk=(await Socket.objects.afirst()).pk).aget()  # type: ignore[union-attr]

    await sender.send_json_to({"event": "shout", "exclude": other_row.channel_name, "exclude_self": True})

    for client in (sender, other):
        assert await receive(client) == {"event": "shouted", "exclude": other_row.channel_name, "exclude_self": True}


async def test_send_to_group_from_sync_code_with_exclude(sockets: Sockets) -> None:
    first = await sockets.connect(Room, "/room/")
    second = await sockets.connect(Room, "/room/")
    first_row = await Socket.objects.order_by("pk").afirst()

    await database_sync_to_async(send_to_group)("room", "notice", {"n": 1}, exclude=first_row)
    await database_sync_to_async(send_to_group)("room", "notice", {"n": 2})

    assert await receive(second) == {"event": "notice", "n": 1}
    assert await receive(second) == {"event": "notice", "n": 2}
    assert await receive(first) == {"event": "notice", "n": 2}


async def test_asend_to_group_from_async_code(sockets: Sockets) -> None:
    first = await sockets.connect(Room, "/room/")
    second = await sockets.connect(Room, "/room/")
    first_row = await Socket.objects.order_by("pk").afirst()
    assert first_row is not None

    await asend_to_group("room", "notice", {"n": 1}, exclude=first_row.channel_name)
    await asend_to_group("room", "notice", {"n": 2})

    assert await receive(second) == {"event": "notice", "n": 1}
    assert await receive(second) == {"event": "notice", "n": 2}
    assert await receive(first) == {"event": "notice", "n": 2}


async def test_send_to_group_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="invalid group name"):
        await asend_to_group("room with spaces", "notice")
    with pytest.raises(TypeError, match="exclude="):
        await asend_to_group("room", "notice", exclude=42)
