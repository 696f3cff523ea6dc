"""django-easy-channels (the subclass style) ported to Channels 4.

The README's consumers run as written, except that ``await`` inside a plain ``def`` (a
syntax error in django-easy-channels' README) is dropped: in a sync handler wsroute's API works without it.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from channels.layers import BaseChannelLayer, InMemoryChannelLayer
from channels.routing import URLRouter
from django.urls import re_path

from tests.consumers.conftest import Connect, assert_error, tracebacks
from wsroute_django import InvalidGroupName, JSONWebSocket, Reject, SocketMiddleware
from wsroute_django.testing import SocketClient, SocketClients, SocketClosed

# -- the README's chat --------------------------------------------------------------------------


class ChatConsumer(JSONWebSocket):
    # function called when socket connects
    def on_connect(self) -> None:
        # getting name from url
        self.name = self.scope["url_route"]["kwargs"]["name"]

        # adds this socket to group chatroom
        self.group_add("chatroom")

        # accepting connection
        self.accept()

    # function that will be called if this consumer receives a message with the event broadcast_message
    def on_broadcast_message(self, event: dict[str, Any]) -> None:
        payload = {"message": event["message"], "from": self.name}

        # sends this message to all connected sockets in the 'chatroom' group (not consumers)
        self.group_send(
            "chatroom",  # group
            "message",  # event name
            payload,  # data
        )

    async def on_shout(self, event: dict[str, Any]) -> None:
        # a payload with the channel layer's own key in it
        await self.group_send("chatroom", "shout", {"type": "x", "text": event["text"], "payload": [1]})

    def on_whoami(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "me", "channel": self.channel_name}


# -- the README's consumer-to-consumer example ------------------------------------------------


class ConsumerA(JSONWebSocket):
    def on_connect(self) -> None:
        self.group_add("groupA")

    def on_notify(self) -> None:
        sensitive_data = {"secret": "s3cr3t", "by": self.channel_name}
        self.group_send("groupA", "notify", sensitive_data)


class ConsumerB(JSONWebSocket):
    def on_connect(self) -> None:
        self.group_add("groupB")

    def on_some_event(self) -> None:
        # will call on_notify in all consumers in groupA
        self.group_call_event("groupA", "notify")


class Vault(JSONWebSocket):
    """Receives server-side events whose return value must never reach the client."""

    def on_connect(self) -> None:
        self.group_add("vault")
        self.seen: list[dict[str, Any]] = []

    def on_store(self, event: dict[str, Any]) -> dict[str, Any]:
        self.seen.append(event)
        return {"event": "stored", **event}

    def on_seen(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "seen", "events": self.seen}


class Caller(JSONWebSocket):
    async def on_store_secret(self, event: dict[str, Any]) -> None:
        await self.group_call_event("vault", "store", {"secret": event["secret"], "type": "kept"})
        # A barrier: the vault handles its layer messages in order, so when its client sees
        # this, on_store has already run.
        await self.group_send("vault", "after", {})


# -- the README's middleware --------------------------------------------------------------------


class UserGatherMiddleware(SocketMiddleware):
    # will be called before the consumer on_connect
    def on_connect(self) -> None:
        # the middleware has complete access to the consumer in the self.consumer attribute
        self.consumer.name = self.scope["url_route"]["kwargs"]["name"]


class GreetingChat(JSONWebSocket):
    middlewares = [UserGatherMiddleware]

    def on_connect(self) -> None:
        self.send_json({"event": "hello", "name": self.name})  # set by the middleware


# -- groups ------------------------------------------------------------------------------------


class Rooms(JSONWebSocket):
    async def on_connect(self) -> None:
        await self.group_add("room-a")
        await self.group_add("room-b")

    async def on_join(self, event: dict[str, Any]) -> dict[str, Any]:
        try:
            await self.group_add(event["room"])
        except InvalidGroupName as exc:
            return {"event": "refused", "detail": str(exc), "is_value_error": isinstance(exc, ValueError)}
        return {"event": "joined", "room": event["room"]}

    def on_leave(self, event: dict[str, Any]) -> dict[str, Any]:
        self.group_discard(event["room"])
        return {"event": "left", "room": event["room"]}

    async def on_say(self, event: dict[str, Any]) -> None:
        await self.group_send(event["room"], "said", {"text": event["text"]})

    def on_whoami(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "me", "channel": self.channel_name}


# -- lifecycle hooks ------------------------------------------------------------------------------


class Watcher(JSONWebSocket):
    def on_connect(self) -> None:
        self.group_add("watchers")


class Lifecycle(JSONWebSocket):
    def on_connect(self) -> None:
        self.send_json({"event": "welcome"})

    def on_disconnect(self, code: int) -> None:
        self.group_send("watchers", "gone", {"code": code})

    def on_echo(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "echo", "got": event}

    def on_bye(self, event: dict[str, Any]) -> None:
        self.close()


class ClosesInConnect(JSONWebSocket):
    def on_connect(self) -> None:
        self.close()

    def on_echo(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "echo"}


class RejectsInConnect(JSONWebSocket):
    async def on_connect(self) -> None:
        raise Reject("no entry")

    def on_echo(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "echo"}


class CrashesInConnect(JSONWebSocket):
    def on_connect(self) -> None:
        raise RuntimeError("connect went wrong")


application = URLRouter(
    [
        re_path(r"^ws/chat/(?P<name>\w+)/$", ChatConsumer.as_asgi()),
        re_path(r"^ws/greet/(?P<name>\w+)/$", GreetingChat.as_asgi()),
        re_path(r"^ws/a/$", ConsumerA.as_asgi()),
        re_path(r"^ws/b/$", ConsumerB.as_asgi()),
        re_path(r"^ws/vault/$", Vault.as_asgi()),
        re_path(r"^ws/caller/$", Caller.as_asgi()),
        re_path(r"^ws/rooms/$", Rooms.as_asgi()),
        re_path(r"^ws/watch/$", Watcher.as_asgi()),
        re_path(r"^ws/life/$", Lifecycle.as_asgi()),
        re_path(r"^ws/closes/$", ClosesInConnect.as_asgi()),
        re_path(r"^ws/rejects/$", RejectsInConnect.as_asgi()),
        re_path(r"^ws/crashes/$", CrashesInConnect.as_asgi()),
    ]
)


# -- chat --------------------------------------------------------------------------------------


async def test_broadcast_reaches_every_socket_in_the_chatroom(connect: Connect) -> None:
    joselito = await connect(application, "/ws/chat/joselito/")
    maria = await connect(application, "/ws/chat/maria/")

    await joselito.send({"event": "broadcast_message", "message": "Hello World!"})

    expected = {"event": "message", "message": "Hello World!", "from": "joselito"}
    assert await joselito.recv() == expected
    assert await maria.recv() == expected

    await maria.send({"event": "broadcast_message", "message": "hola"})
    expected = {"event": "message", "message": "hola", "from": "maria"}
    assert await joselito.recv() == expected
    assert await maria.recv() == expected
    await joselito.silent()
    await maria.silent()


async def test_payload_keys_never_collide_with_the_layers_type(connect: Connect) -> None:
    joselito = await connect(application, "/ws/chat/joselito/")
    maria = await connect(application, "/ws/chat/maria/")
    await joselito.send({"event": "shout", "text": "hi"})
    expected = {"event": "shout", "type": "x", "text": "hi", "payload": [1]}
    assert await joselito.recv() == expected
    assert await maria.recv() == expected


# -- group_call_event ---------------------------------------------------------------------------


async def test_group_call_event_runs_the_handler_in_every_consumer_of_the_group(connect: Connect) -> None:
    a1 = await connect(application, "/ws/a/")
    a2 = await connect(application, "/ws/a/")
    b = await connect(application, "/ws/b/")

    await b.send({"event": "some_event"})

    # on_notify ran server-side in both ConsumerA sockets; each group_send reached both clients.
    for client in (a1, a2):
        frames = [await client.recv(), await client.recv()]
        assert {frame["event"] for frame in frames} == {"notify"}
        assert {frame["secret"] for frame in frames} == {"s3cr3t"}
        senders = {frame["by"] for frame in frames}
        assert len(senders) == 2, frames
        await client.silent()
    # ConsumerB's client got nothing: the call itself sends nothing to anyone.
    await b.silent()


async def test_group_call_event_passes_the_payload_and_sends_nothing_back(connect: Connect) -> None:
    vault = await connect(application, "/ws/vault/")
    caller = await connect(application, "/ws/caller/")

    await caller.send({"event": "store_secret", "secret": 42, "ref": "c1"})

    # The handler's return value ({"event": "stored", ...}) is not sent to either client: the
    # first frame the vault's client sees is the barrier. The payload's "type" arrived intact.
    assert await vault.recv() == {"event": "after"}
    reply = await vault.ask({"event": "seen"})
    assert reply == {"event": "seen", "events": [{"event": "store", "secret": 42, "type": "kept"}]}
    await caller.silent()
    await vault.silent()


# -- middleware ---------------------------------------------------------------------------------


async def test_user_gather_middleware_runs_before_on_connect(connect: Connect) -> None:
    client = await connect(application, "/ws/greet/joselito/")
    assert await client.recv() == {"event": "hello", "name": "joselito"}


# -- groups -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "room",
    ["bad name!", "", "x" * 100, "sala-\u00e9", "a/b"],
    ids=["space", "empty", "100-chars", "non-ascii", "slash"],
)
async def test_invalid_group_names_raise_a_clear_error(channel_layer: BaseChannelLayer, room: str) -> None:
    async with SocketClient(application, "/ws/rooms/") as client:
        assert client.routing_key == "event"  # found behind the URLRouter
        reply = await client.request("join", room=room)
        assert reply["event"] == "refused"
        assert repr(room) in reply["detail"]
        assert "letters, digits" in reply["detail"]
        assert reply["is_value_error"] is True
        # The socket is fine afterwards.
        assert await client.request("join", {"room": "x" * 99, "ref": 2}) == {
            "event": "joined",
            "room": "x" * 99,
            "ref": 2,
        }


async def test_group_send_to_an_invalid_name_is_a_server_error_not_a_crash(
    channel_layer: BaseChannelLayer, socket_client: SocketClients, caplog: pytest.LogCaptureFixture
) -> None:
    client = await socket_client(application, "/ws/rooms/")
    assert_error(
        await client.expect_error("server_error", "say", {"room": "bad name!", "text": "x", "ref": 1}),
        "server_error",
        key="event",
        value="error",
        ref=1,
    )
    assert any(record.exc_info and record.exc_info[0] is InvalidGroupName for record in tracebacks(caplog))
    await client.send({"event": "say", "room": "room-a", "text": "still here"})
    assert await client.receive_event("said") == {"event": "said", "text": "still here"}
    await client.assert_nothing()


async def test_groups_are_left_on_disconnect(connect: Connect, memory_layer: InMemoryChannelLayer) -> None:
    stayer = await connect(application, "/ws/rooms/")
    leaver = await connect(application, "/ws/rooms/")
    leaver_channel = (await leaver.ask({"event": "whoami"}))["channel"]
    stayer_channel = (await stayer.ask({"event": "whoami"}))["channel"]
    assert await leaver.ask({"event": "join", "room": "extra"}) == {"event": "joined", "room": "extra"}
    assert set(memory_layer.groups["room-a"]) == {leaver_channel, stayer_channel}
    assert set(memory_layer.groups["extra"]) == {leaver_channel}

    await leaver.disconnect()

    assert all(leaver_channel not in members for members in memory_layer.groups.values()), memory_layer.groups
    assert set(memory_layer.groups["room-a"]) == {stayer_channel}
    assert "extra" not in memory_layer.groups
    # The group still works for whoever is left, and nothing was queued for the leaver.
    await stayer.send({"event": "say", "room": "room-b", "text": "anyone?"})
    assert await stayer.recv() == {"event": "said", "text": "anyone?"}
    assert leaver_channel not in memory_layer.channels


async def test_a_group_message_does_not_reach_a_disconnected_socket(
    connect: Connect, memory_layer: InMemoryChannelLayer
) -> None:
    first = await connect(application, "/ws/rooms/")
    second = await connect(application, "/ws/rooms/")
    third = await connect(application, "/ws/rooms/")
    second_channel = (await second.ask({"event": "whoami"}))["channel"]
    await second.disconnect()

    await first.send({"event": "say", "room": "room-a", "text": "who is here"})
    assert await first.recv() == {"event": "said", "text": "who is here"}
    assert await third.recv() == {"event": "said", "text": "who is here"}
    assert second_channel not in memory_layer.channels  # nothing was queued for the departed socket
    await first.silent()
    await third.silent()


async def test_group_discard_stops_deliveries(connect: Connect) -> None:
    speaker = await connect(application, "/ws/rooms/")
    quitter = await connect(application, "/ws/rooms/")
    assert await quitter.ask({"event": "leave", "room": "room-a"}) == {"event": "left", "room": "room-a"}

    await speaker.send({"event": "say", "room": "room-a", "text": "a"})
    assert await speaker.recv() == {"event": "said", "text": "a"}
    await speaker.send({"event": "say", "room": "room-b", "text": "b"})
    assert await speaker.recv() == {"event": "said", "text": "b"}
    # The quitter still gets room-b, and room-b's message is the first it sees: room-a's never came.
    assert await quitter.recv() == {"event": "said", "text": "b"}


# -- lifecycle hooks --------------------------------------------------------------------------------


@pytest.mark.parametrize("hook", ["connect", "disconnect"])
async def test_lifecycle_hooks_are_not_client_events(
    channel_layer: BaseChannelLayer, socket_client: SocketClients, hook: str
) -> None:
    watcher = await socket_client(application, "/ws/watch/")
    client = await socket_client(application, "/ws/life/")
    assert await client.receive() == {"event": "welcome"}

    error = await client.expect_error("unknown_type", hook, {"ref": "h"})
    assert_error(error, "unknown_type", key="event", value="error", ref="h")
    # The hook did not run again: no second welcome, no departure notice; the next frame the
    # client sees is the answer to its next request.
    echo = await client.request("echo", {"n": 1, "ref": 2})
    assert echo == {"event": "echo", "got": {"event": "echo", "n": 1, "ref": 2}, "ref": 2}
    await client.assert_nothing()
    await watcher.assert_nothing()

    await client.close(1001)
    assert await watcher.receive() == {"event": "gone", "code": 1001}  # the real hook did run


async def test_close_from_a_handler_is_a_normal_close(channel_layer: BaseChannelLayer) -> None:
    async with SocketClient(Watcher) as watcher:
        async with SocketClient(Lifecycle) as client:
            assert await client.receive() == {"event": "welcome"}
            with pytest.raises(SocketClosed) as closed:
                await client.request("bye")  # no reply: the socket closes instead
            assert closed.value.code == 1000
        assert await watcher.receive() == {"event": "gone", "code": 1000}


async def test_on_connect_calling_close_rejects_with_4403_after_accept() -> None:
    async with SocketClient(ClosesInConnect) as client:  # accepted first, so a browser sees the code
        assert await client.expect_close(4403) == 4403
        await client.send({"event": "echo"})
        await client.assert_nothing()
    assert client.frames == []


async def test_on_connect_raising_reject_closes_with_4403_after_accept(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    client = await connect(application, "/ws/rejects/")
    await client.expect_close(4403, "no entry")  # the reason goes in the close frame
    await client.send({"event": "echo"})
    await client.silent()
    assert not tracebacks(caplog)  # a rejection is not an error


async def test_on_connect_raising_closes_with_4500_and_logs_the_traceback(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wsroute")
    client = await connect(application, "/ws/crashes/")
    await client.expect_close(4500)
    records = tracebacks(caplog)
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert isinstance(records[0].exc_info[1], RuntimeError)  # type: ignore[index]
    assert "connect went wrong" in caplog.text
