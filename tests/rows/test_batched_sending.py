"""Queryset sends go out as one channel-layer message per server process, fanned out there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async

from tests.rows.conftest import TIMEOUT, Sockets
from wsroute_django import JSONWebSocket, layer
from wsroute_django.fanout import inbox, server_channel
from wsroute_django.models import Socket
from wsroute_django.rows import SERVER_ID

pytestmark = pytest.mark.django_db(transaction=True)


class Chat(JSONWebSocket):
    persist = True


class LayerSends:
    """The real layer's ``send``, counted by destination (a spy: every message still goes)."""

    def __init__(self, channel_layer: Any) -> None:
        self.destinations: list[str] = []
        self._original = channel_layer.send

        async def send(channel: str, message: dict[str, Any]) -> None:
            self.destinations.append(channel)
            await self._original(channel, message)

        self.spy = send


@pytest.fixture
def layer_sends(layer: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[LayerSends]:
    sends = LayerSends(layer)
    monkeypatch.setattr(layer, "send", sends.spy)
    yield sends


async def receive(communicator: Any) -> dict[str, Any]:
    frame: dict[str, Any] = await communicator.receive_json_from(timeout=TIMEOUT)
    return frame


async def test_one_layer_message_reaches_every_socket_of_a_process(sockets: Sockets, layer_sends: LayerSends) -> None:
    clients = [await sockets.connect(Chat, "/chat/") for _ in range(5)]

    assert await Socket.objects.all().asend_json({"event": "news", "n": 1}) == 5
    assert await database_sync_to_async(lambda: Socket.objects.all().send_event("news", {"n": 2}))() == 5

    assert layer_sends.destinations == [server_channel(SERVER_ID)] * 2
    for client in clients:
        assert await receive(client) == {"event": "news", "n": 1}
        assert await receive(client) == {"event": "news", "n": 2}  # in the order they were sent


async def test_rows_without_a_server_are_addressed_one_by_one(sockets: Sockets, layer_sends: LayerSends) -> None:
    first = await sockets.connect(Chat, "/chat/")
    second = await sockets.connect(Chat, "/chat/")
    await Socket.objects.all().aupdate(server="")  # rows written before the column existed

    assert await Socket.objects.all().asend_json({"event": "news"}) == 2

    assert sorted(layer_sends.destinations) == sorted([row.channel_name async for row in Socket.objects.all()])
    assert await receive(first) == {"event": "news"}
    assert await receive(second) == {"event": "news"}


async def test_a_lone_socket_of_a_process_gets_its_own_message(sockets: Sockets, layer_sends: LayerSends) -> None:
    client = await sockets.connect(Chat, "/chat/")
    row = await Socket.objects.aget()

    assert await Socket.objects.all().aclose(4000) == 1

    assert layer_sends.destinations == [row.channel_name]
    assert await client.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4000}
    await sockets.disconnect(client, code=4000)


async def test_a_batch_skips_sockets_that_closed_meanwhile(sockets: Sockets, alice: Any) -> None:
    staying = await sockets.connect(Chat, "/chat/")
    leaving = await sockets.connect(Chat, "/chat/", user=alice)
    names = [row.channel_name async for row in Socket.objects.order_by("pk")]
    await sockets.disconnect(leaving)

    # the sender read both rows before the second socket closed
    assert inbox.hand_out(layer.batch(names, layer.send({"event": "late"}))) == 1
    assert await receive(staying) == {"event": "late"}


@pytest.mark.parametrize(
    "message",
    [
        {"type": "wsroute.batch"},
        {"type": "wsroute.batch", "channels": "x", "message": layer.send({"a": 1})},
        {"type": "wsroute.batch", "channels": [1, 2], "message": layer.send({"a": 1})},
        {"type": "wsroute.batch", "channels": [], "message": {"type": "chat.message"}},
        {"type": "something.else", "channels": [], "message": layer.send({"a": 1})},
    ],
)
async def test_malformed_batches_are_ignored(sockets: Sockets, message: dict[str, Any]) -> None:
    client = await sockets.connect(Chat, "/chat/")
    row = await Socket.objects.aget()
    if isinstance(message.get("channels"), list) and not message["channels"]:
        message["channels"] = [row.channel_name]

    assert inbox.hand_out(message) == 0
    assert await Socket.objects.all().asend_json({"event": "after"}) == 1
    assert await receive(client) == {"event": "after"}  # the socket lives on, nothing came before
