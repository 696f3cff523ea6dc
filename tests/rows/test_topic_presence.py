"""Per-user presence in topics: state on join, diffs on a user's first join and last leave."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db.models.signals import pre_save
from django.utils import timezone

from tests.consumers.conftest import assert_error
from tests.rows.conftest import TIMEOUT, Sockets, make_user
from wsroute_django import JSONWebSocket, rows, topic
from wsroute_django.membership import topic_group
from wsroute_django.models import Socket, TopicMember

pytestmark = pytest.mark.django_db(transaction=True)


class Room(JSONWebSocket):
    persist = True

    @topic("room:{id}")
    def join_room(self) -> None:
        pass

    async def presence_meta(self, topic: str) -> dict[str, Any]:
        user = self.user
        return {"name": user.username if user is not None and user.is_authenticated else "guest", "topic": topic}

    def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}


class BadMeta(Room):
    def presence_meta(self, topic: str) -> Any:  # type: ignore[override]  # on purpose
        return ["not", "a", "dict"]


async def recv(client: Any) -> dict[str, Any]:
    frame: dict[str, Any] = await client.receive_json_from(timeout=TIMEOUT)
    return frame


async def ask(client: Any, frame: dict[str, Any]) -> dict[str, Any]:
    await client.send_json_to(frame)
    return await recv(client)


async def join(client: Any, name: str = "room:1") -> dict[str, Any]:
    reply = await ask(client, {"event": "join", "topic": name})
    assert reply["event"] == "joined", reply
    return reply


async def quiet(client: Any) -> None:
    """Nothing is queued for ``client``: its next frame answers this ping."""
    assert await ask(client, {"event": "ping"}) == {"event": "pong"}


def diff(joins: dict[str, Any] | None = None, leaves: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"event": "presence", "topic": "room:1", "joins": joins or {}, "leaves": leaves or {}}


def meta(name: str) -> dict[str, Any]:
    return {"name": name, "topic": "room:1"}


async def test_two_users_see_each_other_join_and_leave(sockets: Sockets, alice: Any, bob: Any) -> None:
    at_alice = await sockets.connect(Room, "/room/", user=alice)
    at_bob = await sockets.connect(Room, "/room/", user=bob)
    a, b = f"user:{alice.pk}", f"user:{bob.pk}"

    assert (await join(at_alice))["presence"] == {a: meta("alice")}
    assert (await join(at_bob))["presence"] == {a: meta("alice"), b: meta("bob")}
    assert await recv(at_alice) == diff(joins={b: meta("bob")})
    await quiet(at_bob)  # a socket does not get the diff of its own arrival

    assert await ask(at_bob, {"event": "leave", "topic": "room:1"}) == {"event": "left", "topic": "room:1"}
    assert await recv(at_alice) == diff(leaves={b: meta("bob")})

    await join(at_bob)
    assert await recv(at_alice) == diff(joins={b: meta("bob")})
    await sockets.disconnect(at_bob)
    assert await recv(at_alice) == diff(leaves={b: meta("bob")})
    assert await TopicMember.objects.acount() == 1


async def test_a_second_tab_neither_joins_nor_leaves(sockets: Sockets, alice: Any, bob: Any) -> None:
    at_alice = await sockets.connect(Room, "/room/", user=alice)
    bob_one = await sockets.connect(Room, "/room/", user=bob)
    bob_two = await sockets.connect(Room, "/room/", user=bob)
    await join(at_alice)
    await join(bob_one)
    assert await recv(at_alice) == diff(joins={f"user:{bob.pk}": meta("bob")})

    reply = await join(bob_two)
    assert set(reply["presence"]) == {f"user:{alice.pk}", f"user:{bob.pk}"}
    await sockets.disconnect(bob_one)
    await quiet(at_alice)  # bob is still here: no diff either way
    await quiet(bob_two)

    await sockets.disconnect(bob_two)
    assert await recv(at_alice) == diff(leaves={f"user:{bob.pk}": meta("bob")})


async def test_anonymous_sockets_are_keyed_by_their_socket(sockets: Sockets) -> None:
    first = await sockets.connect(Room, "/room/")
    second = await sockets.connect(Room, "/room/")
    await join(first)
    reply = await join(second)

    keys = [f"socket:{row.pk}" async for row in Socket.objects.order_by("pk")]
    assert reply["presence"] == {key: meta("guest") for key in keys}
    assert await recv(first) == diff(joins={keys[1]: meta("guest")})


async def test_presence_is_per_topic(sockets: Sockets, alice: Any, bob: Any) -> None:
    at_alice = await sockets.connect(Room, "/room/", user=alice)
    at_bob = await sockets.connect(Room, "/room/", user=bob)
    await join(at_alice, "room:1")
    await join(at_bob, "room:2")

    await quiet(at_alice)  # bob joined another room
    assert (await join(at_alice, "room:2"))["presence"] == {
        f"user:{bob.pk}": {"name": "bob", "topic": "room:2"},
        f"user:{alice.pk}": {"name": "alice", "topic": "room:2"},
    }


async def test_metadata_that_is_not_a_dict_fails_the_join_cleanly(sockets: Sockets, alice: Any) -> None:
    client = await sockets.connect(BadMeta, "/room/", user=alice)

    assert_error(
        await ask(client, {"event": "join", "topic": "room:1", "ref": 1}),
        "server_error",
        key="event",
        value="error",
        ref=1,
    )
    assert await TopicMember.objects.acount() == 0
    assert_error(await ask(client, {"event": "leave", "topic": "room:1"}), "not_joined", key="event", value="error")


async def _crashed_socket(user: Any, topics: list[str], layer: Any) -> Socket:
    """The row of a socket whose server process died: stale, in ``topics``, its channel still in their groups."""
    old = timezone.now() - timedelta(hours=1)
    channel = await layer.new_channel()
    row = await Socket.objects.acreate(channel_name=channel, user=user, path="/room/", last_ping=old, server="dead:1")
    for name in topics:
        await TopicMember.objects.acreate(socket=row, topic=name, key=f"user:{user.pk}", meta=meta(user.username))
        await layer.group_add(topic_group(name), channel)
    return row


async def test_a_prune_after_a_crash_sends_the_leaves(sockets: Sockets, alice: Any, bob: Any, layer: Any) -> None:
    carol = await make_user("carol")
    at_alice = await sockets.connect(Room, "/room/", user=alice)
    await join(at_alice)
    await _crashed_socket(carol, ["room:1"], layer)
    bob_live = await sockets.connect(Room, "/room/", user=bob)
    reply = await join(bob_live)
    assert await recv(at_alice) == diff(joins={f"user:{bob.pk}": meta("bob")})
    await _crashed_socket(bob, ["room:1"], layer)  # bob's other tab was on the dead process
    assert set(reply["presence"]) == {f"user:{alice.pk}", f"user:{bob.pk}", f"user:{carol.pk}"}

    pruned = await rows.sweep()

    assert len(pruned) == 2
    assert await recv(at_alice) == diff(leaves={f"user:{carol.pk}": meta("carol")})  # bob is still here
    assert await recv(bob_live) == diff(leaves={f"user:{carol.pk}": meta("carol")})
    await quiet(at_alice)
    assert sorted(
        await database_sync_to_async(lambda: list(TopicMember.objects.values_list("key", flat=True)))()
    ) == sorted([f"user:{alice.pk}", f"user:{bob.pk}"])


async def test_a_socket_cancelled_while_its_join_is_written_still_leaves(
    sockets: Sockets, alice: Any, bob: Any
) -> None:
    """A server cancels a consumer (its client went away) while the membership is being
    written: the write finishes in its thread, and the cleanup still announces the leave."""
    at_alice = await sockets.connect(Room, "/room/", user=alice)
    at_bob = await sockets.connect(Room, "/room/", user=bob)
    await join(at_alice)
    b = f"user:{bob.pk}"
    entered, release = threading.Event(), threading.Event()

    def hold(sender: Any, instance: TopicMember, **kwargs: Any) -> None:
        if instance.key == b:
            entered.set()
            release.wait(TIMEOUT)

    pre_save.connect(hold, sender=TopicMember)
    try:
        await at_bob.send_json_to({"event": "join", "topic": "room:1"})
        assert await asyncio.to_thread(entered.wait, TIMEOUT)
        at_bob.future.cancel()
        sockets.open.remove(at_bob)
    finally:
        release.set()
        pre_save.disconnect(hold, sender=TopicMember)
    done, _ = await asyncio.wait({at_bob.future}, timeout=TIMEOUT)
    assert done, "the cancelled consumer did not finish"

    assert await recv(at_alice) == diff(joins={b: meta("bob")})
    assert await recv(at_alice) == diff(leaves={b: meta("bob")})
    assert [row.key async for row in TopicMember.objects.all()] == [f"user:{alice.pk}"]
