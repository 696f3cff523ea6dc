"""Topics: clients join and leave them by name, the server authorizes, frames carry the topic."""

from __future__ import annotations

import re
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings
from django.views import View

from tests.consumers.conftest import assert_error
from tests.rows.conftest import TIMEOUT, Sockets
from wsroute import ConfigError, DuplicateRouteError, Forbidden, Join, Reject
from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketRouter, send_to_topic, topic
from wsroute_django import layer as wsroute_layer
from wsroute_django.consumer import SocketConsumer
from wsroute_django.models import Socket

pytestmark = pytest.mark.django_db(transaction=True)


class Persisted(RoutedSocketHandler):
    persist = True


class Rooms(View):
    """The decorator style."""

    socket = SocketRouter(handler=Persisted)

    @socket.topic("lobby")
    def join_lobby(socket: SocketConsumer) -> None:  # type: ignore[misc]
        """Anyone may join; nothing to add to the reply."""

    @socket.topic("room:{id}")
    def join_room(socket: SocketConsumer, join: Join) -> dict[str, Any] | None:  # type: ignore[misc]
        if join.params["id"] == "secret":
            raise Forbidden("members only")
        if join.params["id"] == "closed":
            raise Reject("this room is closed")
        return {"room": join.params["id"], "asked": join.payload.get("password")}

    @socket.route("SAY")
    async def say(socket: SocketConsumer, content: dict[str, Any]) -> None:  # type: ignore[misc]
        await socket.broadcast(content["topic"], "SAID", {"text": content["text"]}, exclude_self=content.get("quiet"))

    @socket.route("SHOUT")
    async def shout(socket: SocketConsumer, content: dict[str, Any]) -> None:  # type: ignore[misc]
        # the client's payload, passed on whole: it cannot choose the topic of the frame
        await socket.broadcast("lobby", "SHOUTED", {k: v for k, v in content.items() if k != "type"})


RoomSocket = Rooms.socket.Handler


class Chat(JSONWebSocket):
    """The subclass style: ``@topic`` on methods, event names in lower case."""

    persist = True

    @topic("lobby")
    def join_lobby(self) -> None:
        pass

    @topic(re.compile(r"game-(?P<number>\d+)"))
    async def join_game(self, join: Join) -> dict[str, Any]:
        return {"number": int(join.params["number"])}

    def on_say(self, event: dict[str, Any]) -> None:
        self.broadcast(event["topic"], "said", {"text": event["text"]})


class Listed(Persisted):
    """A ``topics`` table, the way a ``routes`` table names methods."""

    topics = (("news", None), ("team:{name}", "join_team"))

    def join_team(self, join: Join) -> None:
        if join.params["name"] != "blue":
            raise Forbidden("blue team only")


async def recv(client: Any) -> dict[str, Any]:
    frame: dict[str, Any] = await client.receive_json_from(timeout=TIMEOUT)
    return frame


async def ask(client: Any, frame: dict[str, Any]) -> dict[str, Any]:
    await client.send_json_to(frame)
    return await recv(client)


async def test_join_replies_with_the_topic_its_data_and_presence(sockets: Sockets) -> None:
    client = await sockets.connect(RoomSocket, "/rooms/")

    reply = await ask(client, {"type": "JOIN", "topic": "room:42", "ref": 1, "password": "x"})

    assert reply["type"] == "JOINED"
    assert reply["topic"] == "room:42"
    assert reply["ref"] == 1
    assert reply["data"] == {"room": "42", "asked": "x"}
    assert list(reply["presence"]) == [key for key in reply["presence"] if key.startswith("socket:")]
    assert "data" not in await ask(client, {"type": "JOIN", "topic": "lobby", "ref": 2})


async def test_forbidden_and_rejected_joins_get_forbidden_with_the_ref(sockets: Sockets) -> None:
    client = await sockets.connect(RoomSocket, "/rooms/")

    assert_error(await ask(client, {"type": "JOIN", "topic": "room:secret", "ref": "a"}), "forbidden", ref="a")
    frame = await ask(client, {"type": "JOIN", "topic": "room:closed", "ref": "b"})
    assert_error(frame, "forbidden", ref="b")
    assert frame["detail"] == "this room is closed"
    # not joined: the same topic may be tried again, and a frame naming it is refused
    assert_error(await ask(client, {"type": "SAY", "topic": "room:secret", "text": "x"}), "not_joined")
    assert (await ask(client, {"type": "JOIN", "topic": "room:1", "ref": "c"}))["type"] == "JOINED"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        (42, "bad_message"),
        (None, "bad_message"),
        (["room:1"], "bad_message"),
        ({"topic": "room:1"}, "bad_message"),
        (True, "bad_message"),
        ("", "bad_message"),
        ("room:" + "9" * 200, "bad_message"),
        ("room: 1", "bad_message"),
        ("room:\u00e9", "bad_message"),
        ("room:1:2", "unknown_topic"),
        ("kitchen", "unknown_topic"),
    ],
)
async def test_bad_topic_names_get_error_frames_and_the_socket_lives_on(
    sockets: Sockets, name: object, code: str
) -> None:
    client = await sockets.connect(RoomSocket, "/rooms/")

    frame = await ask(client, {"type": "JOIN", "topic": name, "ref": 7})
    assert_error(frame, code, ref=7)
    assert len(frame["detail"]) < 200
    assert_error(
        await ask(client, {"type": "LEAVE", "topic": name, "ref": 8}),
        "bad_message" if code == "bad_message" else "not_joined",
        ref=8,
    )
    assert (await ask(client, {"type": "PING"}))["type"] == "PONG"


async def test_a_join_without_a_topic_is_bad_message(sockets: Sockets) -> None:
    client = await sockets.connect(RoomSocket, "/rooms/")
    assert_error(await ask(client, {"type": "JOIN", "ref": 1}), "bad_message", ref=1)


async def test_joining_twice_and_leaving_unjoined_topics(sockets: Sockets) -> None:
    client = await sockets.connect(RoomSocket, "/rooms/")

    await ask(client, {"type": "JOIN", "topic": "lobby"})
    assert_error(await ask(client, {"type": "JOIN", "topic": "lobby", "ref": 2}), "already_joined", ref=2)
    assert await ask(client, {"type": "LEAVE", "topic": "lobby", "ref": 3}) == {
        "type": "LEFT",
        "topic": "lobby",
        "ref": 3,
    }
    assert_error(await ask(client, {"type": "LEAVE", "topic": "lobby", "ref": 4}), "not_joined", ref=4)


@override_settings(WSROUTE={"PERSIST": False, "MAX_TOPICS": 2})
async def test_joins_beyond_the_cap_are_refused(sockets: Sockets) -> None:
    client = await sockets.connect(RoomSocket, "/rooms/")

    for n in (1, 2):
        assert (await ask(client, {"type": "JOIN", "topic": f"room:{n}"}))["type"] == "JOINED"
    assert_error(await ask(client, {"type": "JOIN", "topic": "room:3", "ref": 3}), "too_many_topics", ref=3)
    await ask(client, {"type": "LEAVE", "topic": "room:1"})
    assert (await ask(client, {"type": "JOIN", "topic": "room:3"}))["type"] == "JOINED"


async def test_broadcasts_reach_the_topics_members_with_the_topic(sockets: Sockets) -> None:
    ada, bob, eve = [await sockets.connect(RoomSocket, "/rooms/") for _ in range(3)]
    for client in (ada, bob):
        await ask(client, {"type": "JOIN", "topic": "room:1"})
        await ask(client, {"type": "JOIN", "topic": "room:2"})
    await ask(eve, {"type": "JOIN", "topic": "room:2"})
    await recv(ada)  # bob's presence join in room:1
    await recv(ada)  # and in room:2
    for client in (ada, bob):
        await recv(client)  # eve's join in room:2

    await ada.send_json_to({"type": "SAY", "topic": "room:1", "text": "one"})
    assert await recv(ada) == {"type": "SAID", "topic": "room:1", "text": "one"}
    assert await recv(bob) == {"type": "SAID", "topic": "room:1", "text": "one"}

    await bob.send_json_to({"type": "SAY", "topic": "room:2", "text": "two", "quiet": True})
    assert await recv(ada) == {"type": "SAID", "topic": "room:2", "text": "two"}
    assert await recv(eve) == {"type": "SAID", "topic": "room:2", "text": "two"}
    # eve was never in room:1, bob excluded himself: their next frames answer a ping
    for client in (bob, eve):
        assert (await ask(client, {"type": "PING"}))["type"] == "PONG"


async def test_a_payload_cannot_set_the_topic_or_exclude(sockets: Sockets) -> None:
    ada = await sockets.connect(RoomSocket, "/rooms/")
    await ask(ada, {"type": "JOIN", "topic": "lobby"})

    await ada.send_json_to({"type": "SHOUT", "topic": "lobby", "exclude": "x", "exclude_self": True, "n": 1})
    assert await recv(ada) == {"type": "SHOUTED", "topic": "lobby", "exclude": "x", "exclude_self": True, "n": 1}
    assert_error(await ask(ada, {"type": "SHOUT", "topic": "room:9", "ref": 5}), "not_joined", ref=5)
    assert_error(await ask(ada, {"type": "SHOUT", "topic": 5, "ref": 6}), "bad_message", ref=6)


async def test_after_leaving_no_frame_of_the_topic_arrives(sockets: Sockets, layer: Any) -> None:
    ada = await sockets.connect(RoomSocket, "/rooms/")
    await ask(ada, {"type": "JOIN", "topic": "lobby"})
    await ask(ada, {"type": "LEAVE", "topic": "lobby"})
    row = await Socket.objects.aget()

    await database_sync_to_async(send_to_topic)("lobby", "NEWS", {"n": 1})
    # a broadcast already in the socket's channel when it left is dropped there
    await layer.send(row.channel_name, wsroute_layer.deliver("NEWS", {"n": 2}, topic="lobby"))
    await layer.send(row.channel_name, wsroute_layer.presence("lobby", {"user:1": {}}, {}))
    assert (await ask(ada, {"type": "PING"}))["type"] == "PONG"


async def test_send_to_topic_from_anywhere(sockets: Sockets) -> None:
    ada = await sockets.connect(RoomSocket, "/rooms/")
    bob = await sockets.connect(Chat, "/chat/")
    await ask(ada, {"type": "JOIN", "topic": "lobby"})
    await ask(bob, {"event": "join", "topic": "lobby"})
    await recv(ada)  # bob's presence join

    await database_sync_to_async(send_to_topic)("lobby", "news", {"topic": "forged", "n": 1})

    assert await recv(ada) == {"type": "news", "topic": "lobby", "n": 1}
    assert await recv(bob) == {"event": "news", "topic": "lobby", "n": 1}


async def test_the_event_style_speaks_lower_case(sockets: Sockets) -> None:
    client = await sockets.connect(Chat, "/chat/")

    reply = await ask(client, {"event": "join", "topic": "game-7", "ref": 1})
    assert (reply["event"], reply["topic"], reply["data"], reply["ref"]) == ("joined", "game-7", {"number": 7}, 1)
    assert_error(await ask(client, {"event": "join", "topic": "game-x"}), "unknown_topic", key="event", value="error")
    await client.send_json_to({"event": "say", "topic": "game-7", "text": "hi"})
    assert await recv(client) == {"event": "said", "topic": "game-7", "text": "hi"}
    assert await ask(client, {"event": "leave", "topic": "game-7"}) == {"event": "left", "topic": "game-7"}


async def test_a_topics_table_names_its_hooks(sockets: Sockets) -> None:
    client = await sockets.connect(Listed, "/listed/")

    assert (await ask(client, {"type": "JOIN", "topic": "news"}))["type"] == "JOINED"
    assert (await ask(client, {"type": "JOIN", "topic": "team:blue"}))["type"] == "JOINED"
    assert_error(await ask(client, {"type": "JOIN", "topic": "team:red", "ref": 1}), "forbidden", ref=1)


async def test_a_socket_holds_many_topics_and_disconnect_leaves_them(sockets: Sockets, layer: Any) -> None:
    client = await sockets.connect(RoomSocket, "/rooms/")
    for n in range(5):
        await ask(client, {"type": "JOIN", "topic": f"room:{n}"})
    await sockets.disconnect(client)

    other = await sockets.connect(RoomSocket, "/rooms/")
    reply = await ask(other, {"type": "JOIN", "topic": "room:3"})
    assert len(reply["presence"]) == 1  # only itself: the first socket's membership went with it


def test_declaration_mistakes_fail_at_class_creation() -> None:
    with pytest.raises(ConfigError, match="parameter"):
        topic("room:{}")
    with pytest.raises(DuplicateRouteError, match="'lobby' is declared twice"):

        class Twice(Persisted):
            topics = (("lobby", None), ("lobby", None))

    with pytest.raises(ConfigError, match="no such method"):

        class Missing(Persisted):
            topics = (("lobby", "join_lobby"),)

    with pytest.raises(DuplicateRouteError):

        class Clash(Persisted):  # a route of its own named JOIN
            routes = (*Persisted.routes, ("JOIN", "answer_ping"))
            topics = (("lobby", None),)


async def test_a_join_sent_before_the_handshake_is_answered_after_it(sockets: Sockets) -> None:
    from channels.testing import WebsocketCommunicator

    client = WebsocketCommunicator(RoomSocket.as_asgi(), "/rooms/")
    await client.send_input({"type": "websocket.connect"})
    await client.send_json_to({"type": "JOIN", "topic": "lobby", "ref": 1})  # before the accept arrives

    assert (await client.receive_output(timeout=TIMEOUT))["type"] == "websocket.accept"
    reply = await recv(client)
    assert (reply["type"], reply["topic"], reply["ref"]) == ("JOINED", "lobby", 1)
    await client.disconnect()


@pytest.mark.parametrize(
    "message",
    [
        {"type": "wsroute.deliver", "event": "X", "json": "{}", "topic": ["lobby"]},
        {"type": "wsroute.deliver", "event": "X", "json": "{}", "topic": {"a": 1}},
        {"type": "wsroute.presence", "topic": 5, "json": "{}"},
        {"type": "wsroute.presence", "topic": "lobby", "json": ["x"]},
        {"type": "wsroute.presence", "topic": "lobby"},
        {"type": "wsroute.batch", "channels": None},
    ],
)
async def test_hostile_topic_layer_messages_are_ignored(sockets: Sockets, layer: Any, message: dict[str, Any]) -> None:
    client = await sockets.connect(RoomSocket, "/rooms/")
    await ask(client, {"type": "JOIN", "topic": "lobby"})
    row = await Socket.objects.aget()

    await layer.send(row.channel_name, message)
    assert (await ask(client, {"type": "PING"}))["type"] == "PONG"


class Unpersisted(JSONWebSocket):
    """No Socket row: topics work, presence is not kept."""

    persist = False
    topics = (("lobby", None),)

    async def on_shout(self, event: dict[str, Any]) -> None:
        await self.broadcast("lobby", "shouted", {"text": event["text"]})


async def test_without_rows_topics_work_but_keep_no_presence(sockets: Sockets) -> None:
    ada = await sockets.connect(Unpersisted, "/plain/")
    bob = await sockets.connect(Unpersisted, "/plain/")

    assert await ask(ada, {"event": "join", "topic": "lobby"}) == {"event": "joined", "topic": "lobby"}
    assert await ask(bob, {"event": "join", "topic": "lobby"}) == {"event": "joined", "topic": "lobby"}
    await bob.send_json_to({"event": "shout", "text": "hi"})
    assert await recv(ada) == {"event": "shouted", "topic": "lobby", "text": "hi"}  # no presence diff before it
    assert await recv(bob) == {"event": "shouted", "topic": "lobby", "text": "hi"}
    assert await Socket.objects.acount() == 0


DEEP = "[" * 1000 + "]" * 1000
HUGE = "r" * 300_000


@pytest.mark.parametrize(
    ("text", "code", "ref"),
    [
        ('{"type": "JOIN", "topic": 1e400, "ref": 1}', "bad_json", None),
        ('{"type": "JOIN", "topic": "room:1", "ref": 1e400}', "bad_json", None),
        ('{"type": "JOIN", "topic": "' + HUGE + '", "ref": 1}', "bad_message", 1),
        ('{"type": "JOIN", "topic": "room:1", "ref": "' + HUGE + '"}', "bad_message", None),
    ],
    ids=["topic-1e400", "ref-1e400", "topic-300k", "ref-300k"],
)
async def test_hostile_join_frames_get_error_frames_and_the_socket_lives_on(
    sockets: Sockets, text: str, code: str, ref: int | None
) -> None:
    client = await sockets.connect(RoomSocket, "/rooms/")
    await client.send_to(text_data=text)
    frame = await recv(client)
    assert_error(frame, code, ref=ref)
    assert len(str(frame)) < 8192  # the error frame repeats none of the megabyte
    assert (await ask(client, {"type": "JOIN", "topic": "room:1", "ref": 2}))["type"] == "JOINED"


async def test_joins_nested_1000_deep_are_answered_and_the_socket_lives_on(sockets: Sockets) -> None:
    # Python 3.11's json cannot decode 1,000-deep nesting (bad_json); 3.12's can: then a nested
    # topic is not a string (bad_message), and a nested payload is data for the join hook.
    client = await sockets.connect(RoomSocket, "/rooms/")
    await client.send_to(text_data='{"type": "JOIN", "topic": ' + DEEP + ', "ref": 1}')
    frame = await recv(client)
    assert frame["type"] == "ERROR" and frame["code"] in {"bad_json", "bad_message"}, frame
    await client.send_to(text_data='{"type": "JOIN", "topic": "room:1", "password": ' + DEEP + ', "ref": 2}')
    frame = await recv(client)
    assert frame["type"] == "JOINED" or frame["code"] == "bad_json", frame
    assert (await ask(client, {"type": "PING"}))["type"] == "PONG"


async def test_a_join_while_the_layer_is_down_is_a_server_error_and_can_be_retried(
    sockets: Sockets, layer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await sockets.connect(RoomSocket, "/rooms/")

    async def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the channel layer is down")

    monkeypatch.setattr(type(layer), "group_add", down)
    assert_error(await ask(client, {"type": "JOIN", "topic": "lobby", "ref": 1}), "server_error", ref=1)
    monkeypatch.undo()
    # the failed join left nothing behind: joining again works, and is not "already_joined"
    reply = await ask(client, {"type": "JOIN", "topic": "lobby", "ref": 2})
    assert reply["type"] == "JOINED" and reply["ref"] == 2
