"""Per-process liveness: ``touch``, the stale-row prune, ``wsroute_prune``, and the heartbeat task."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.rows.conftest import TIMEOUT, Sockets, eventually, only_row, rows
from wsroute_django import JSONWebSocket, groups, presence, signals
from wsroute_django import layer as messages
from wsroute_django import rows as socket_rows
from wsroute_django.memory_layer import MemoryChannelLayer
from wsroute_django.models import Socket, SocketGroup

#: the in-memory layers whose group table tests may read (Channels' and wsroute's)
IN_MEMORY_LAYERS = (InMemoryChannelLayer, MemoryChannelLayer)

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = timedelta(hours=1)
#: the example chat's signal receivers
EXAMPLE_RECEIVERS = Path(__file__).resolve().parents[2] / "example" / "chat" / "receivers.py"


class Room(JSONWebSocket):
    persist = True

    async def on_join(self, event: dict[str, Any]) -> dict[str, Any]:
        await self.group_add(event["room"])
        return {"event": "joined"}

    def on_who(self, event: dict[str, Any]) -> None:  # sync: the ORM works here
        users = presence.users_in_group(event["room"])
        self.send_json({"event": "who", "users": sorted(user.get_username() for user in users)})


async def dead_socket(layer: Any, room: str, *, server: str = "dead:1", user: Any = None) -> str:
    """A channel whose server process died: still in the layer group, its row no longer refreshed."""
    channel: str = await layer.new_channel()
    await layer.group_add(room, channel)

    def write() -> None:
        with transaction.atomic():  # a running sweep sees the row with its membership, or neither
            row = Socket.objects.create(
                channel_name=channel, path="/chat/", user=user, last_ping=timezone.now() - LONG_AGO, server=server
            )
            SocketGroup.objects.create(socket=row, name=room)

    await database_sync_to_async(write)()
    return channel


async def live_member(sockets: Sockets, room: str, user: Any) -> Any:
    communicator = await sockets.connect(Room, "/chat/", user=user)
    await communicator.send_json_to({"event": "join", "room": room})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"event": "joined"}
    return communicator


async def assert_group_skips(layer: Any, room: str, live: Any, dead_channel: str) -> None:
    """The layer group still reaches ``live`` but no longer ``dead_channel``."""
    if isinstance(layer, IN_MEMORY_LAYERS):
        assert dead_channel not in layer.groups.get(room, {})
    await layer.group_send(room, {"type": groups.SEND, "frame": {"n": "to the group"}})
    assert await live.receive_json_from(timeout=TIMEOUT) == {"n": "to the group"}
    # A channel delivers in order: if the group message had reached the dead channel,
    # it would come out before this one.
    await layer.send(dead_channel, {"type": "after.the.group.send"})
    message = await asyncio.wait_for(layer.receive(dead_channel), TIMEOUT)
    assert message == {"type": "after.the.group.send"}


async def test_prune_stale_deletes_old_rows_with_their_groups(
    sockets: Sockets, layer: Any, room: str, alice: Any
) -> None:
    live = await live_member(sockets, room, alice)
    live_row = await only_row(user=alice)
    dead = await dead_socket(layer, room)
    fresh_foreign = await database_sync_to_async(Socket.objects.create)(
        channel_name="fresh.elsewhere!1", path="/chat/", last_ping=timezone.now(), server="other:2"
    )

    memberships = await database_sync_to_async(presence.prune_stale)()

    assert memberships == {dead: [room]}
    assert [row.pk for row in await rows()] == [live_row.pk, fresh_foreign.pk]
    members = [name async for name in SocketGroup.objects.values_list("socket__channel_name", flat=True)]
    assert members == [live_row.channel_name]

    await presence.forget_channels(memberships)
    await assert_group_skips(layer, room, live, dead)


async def test_prune_keeps_rows_younger_than_stale_after(sockets: Sockets, alice: Any) -> None:
    await sockets.connect(Room, "/chat/", user=alice)
    await database_sync_to_async(lambda: Socket.objects.update(last_ping=timezone.now() - timedelta(seconds=30)))()

    assert await database_sync_to_async(presence.prune_stale)(60) == {}
    assert len(await rows()) == 1
    assert await database_sync_to_async(presence.prune_stale)() == {}  # default STALE_AFTER: 90 s
    assert len(await rows()) == 1

    row = await only_row()
    assert await database_sync_to_async(presence.prune_stale)(10) == {row.channel_name: []}
    assert await rows() == []
    await sockets.close_all()  # the consumer's own delete finds nothing to delete


async def test_wsroute_prune_command(sockets: Sockets, layer: Any, room: str, alice: Any) -> None:
    live = await live_member(sockets, room, alice)
    dead = await dead_socket(layer, room)
    other_dead = await dead_socket(layer, f"{room}-b", server="dead:2")
    out = io.StringIO()

    await database_sync_to_async(call_command)("wsroute_prune", stale_after=60, stdout=out)

    assert out.getvalue().strip() == "pruned 2 stale socket(s)"
    assert [row.user_id for row in await rows()] == [alice.pk]
    assert await SocketGroup.objects.filter(socket__channel_name__in=[dead, other_dead]).acount() == 0
    assert await SocketGroup.objects.filter(name=room).acount() == 1
    await assert_group_skips(layer, room, live, dead)


async def test_wsroute_prune_command_uses_the_setting(sockets: Sockets, alice: Any) -> None:
    await sockets.connect(Room, "/chat/", user=alice)
    await database_sync_to_async(lambda: Socket.objects.update(last_ping=timezone.now() - timedelta(seconds=30)))()
    out = io.StringIO()

    await database_sync_to_async(call_command)("wsroute_prune", stdout=out)  # STALE_AFTER 90 s
    assert out.getvalue().strip() == "pruned 0 stale socket(s)"

    with override_settings(WSROUTE={"PERSIST": False, "HEARTBEAT_INTERVAL": 5, "STALE_AFTER": 20}):
        await database_sync_to_async(call_command)("wsroute_prune", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "pruned 1 stale socket(s)"
    assert await rows() == []
    await sockets.close_all()


async def test_touch_refreshes_this_processes_rows_in_one_query(sockets: Sockets, alice: Any, bob: Any) -> None:
    await sockets.connect(Room, "/chat/", user=alice)
    await sockets.connect(Room, "/chat/", user=bob)
    old = timezone.now() - LONG_AGO
    await database_sync_to_async(Socket.objects.create)(
        channel_name="elsewhere!1", path="/chat/", last_ping=old, server="other:2"
    )
    await database_sync_to_async(lambda: Socket.objects.update(last_ping=old))()

    def touch() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:  # touch runs in this thread
            refreshed = presence.touch()
        return refreshed, len(queries)

    before = timezone.now()
    refreshed, queries = await database_sync_to_async(touch)()

    assert (refreshed, queries) == (2, 1)
    by_server = {row.server: row.last_ping async for row in Socket.objects.filter(user=None)}
    assert by_server == {"other:2": old}  # another process's row is not this process's business
    assert all(row.last_ping >= before for row in await rows(server=presence.SERVER_ID))
    assert len(await rows(server=presence.SERVER_ID)) == 2


HEARTBEAT = {"PERSIST": True, "HEARTBEAT_INTERVAL": 0.05, "STALE_AFTER": 0.2}


async def test_heartbeat_refreshes_live_rows_and_sweeps_dead_ones(
    sockets: Sockets, layer: Any, room: str, alice: Any
) -> None:
    assert presence.heartbeat.task is None
    with override_settings(WSROUTE=HEARTBEAT):
        dead = await dead_socket(layer, room)
        live = await live_member(sockets, room, alice)
        connected = await only_row(user=alice)
        task = presence.heartbeat.task
        assert task is not None
        assert not task.done()

        async def refreshed_after(seen: datetime) -> bool:
            return (await only_row(user=alice)).last_ping > seen

        async def swept() -> bool:
            return not await Socket.objects.filter(channel_name=dead).aexists()

        await eventually(lambda: refreshed_after(connected.last_ping), "the heartbeat refreshes the live row")
        await eventually(swept, "the heartbeat sweeps the dead row")
        assert await SocketGroup.objects.filter(socket__channel_name=dead).acount() == 0
        # Each beat refreshes, prunes, then takes pruned channels out of their layer groups:
        # one more refresh means the beat that deleted the row has finished with the layer.
        seen = (await only_row(user=alice)).last_ping
        await eventually(lambda: refreshed_after(seen), "the next heartbeat")
        assert (await only_row(user=alice)).pk == connected.pk  # the live row was never pruned
        await assert_group_skips(layer, room, live, dead)

        await sockets.disconnect(live)

        assert presence.heartbeat.task is None
        assert presence.heartbeat.sockets == 0
        await asyncio.wait({task}, timeout=TIMEOUT)
        assert task.cancelled()
        assert await rows() == []


async def test_heartbeat_runs_while_any_persisted_socket_is_open(sockets: Sockets, alice: Any) -> None:
    first = await sockets.connect(Room, "/chat/", user=alice)
    second = await sockets.connect(Room, "/chat/", user=alice)
    task = presence.heartbeat.task
    assert task is not None
    assert presence.heartbeat.sockets == 2

    await sockets.disconnect(first)
    assert presence.heartbeat.task is task
    assert not task.done()

    await sockets.disconnect(second)
    assert presence.heartbeat.task is None
    await asyncio.wait({task}, timeout=TIMEOUT)
    assert task.cancelled()


async def test_sockets_without_rows_start_no_heartbeat(sockets: Sockets, alice: Any) -> None:
    class Volatile(Room):
        persist = False

    await sockets.connect(Volatile, "/chat/", user=alice)
    assert presence.heartbeat.task is None
    assert presence.heartbeat.sockets == 0


# -- pruned rows send the signals their dead consumers could not ----------------------------


@dataclass
class Heard:
    signal: str
    sender: Any
    socket: Any
    #: the group (group_left) or the close code (socket_disconnected)
    arg: Any
    kwargs: dict[str, Any]
    #: whether the row was still in the database while the receiver ran
    row_in_db: bool


@dataclass
class Receivers:
    """Receivers written for live sockets (``sender, socket, code/group, **kwargs``), connected
    without a sender, as a project's presence code would be."""

    heard: list[Heard] = field(default_factory=list)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)

    def pruned(self) -> list[Heard]:
        return [entry for entry in self.heard if entry.sender is Socket]


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    heard = Receivers()
    loop = asyncio.get_running_loop()

    def record(signal: str, sender: Any, socket: Any, arg: Any, kwargs: dict[str, Any]) -> None:
        row = kwargs.get("row")
        in_db = row is not None and Socket.objects.filter(pk=row.pk).exists()  # sync receivers may query
        heard.heard.append(Heard(signal, sender, socket, arg, kwargs, in_db))

    def left(sender: Any, socket: Any, group: str, **kwargs: Any) -> None:
        record("group_left", sender, socket, group, kwargs)
        if sender is Socket:  # what the example chat does: the room's live sockets re-read the list
            async_to_sync(get_channel_layer().group_send)(group, messages.call("who", {"room": group}))

    def disconnected(sender: Any, socket: Any, code: int, **kwargs: Any) -> None:
        record("socket_disconnected", sender, socket, code, kwargs)
        loop.call_soon_threadsafe(heard.disconnected.set)

    signals.group_left.connect(left, weak=False)
    signals.socket_disconnected.connect(disconnected, weak=False)
    yield heard
    signals.group_left.disconnect(left)
    signals.socket_disconnected.disconnect(disconnected)


def assert_pruned_signals(heard: list[Heard], channel: str, user: Any, room: str) -> None:
    """``group_left`` then ``socket_disconnected`` (1006) for the deleted row of ``channel``, as ``sender=Socket``."""
    assert [(entry.signal, entry.sender, entry.socket, entry.arg) for entry in heard] == [
        ("group_left", Socket, None, room),
        ("socket_disconnected", Socket, None, 1006),
    ]
    for entry in heard:
        assert set(entry.kwargs) == {"signal", "row", "pruned"}
        assert entry.kwargs["pruned"] is True
        deleted = entry.kwargs["row"]
        assert isinstance(deleted, Socket)
        assert (deleted.channel_name, deleted.user_id) == (channel, None if user is None else user.pk)
        assert deleted.pk is not None
        assert not entry.row_in_db  # sent after the row was deleted


async def test_wsroute_prune_sends_the_pruned_sockets_signals(
    sockets: Sockets, layer: Any, room: str, alice: Any, bob: Any, receivers: Receivers
) -> None:
    live = await live_member(sockets, room, alice)
    dead = await dead_socket(layer, room, user=bob)  # bob's server died: he is still "in" the room

    await database_sync_to_async(call_command)("wsroute_prune", stale_after=60, stdout=io.StringIO())

    assert_pruned_signals(receivers.pruned(), dead, bob, room)
    assert receivers.heard == receivers.pruned()  # nothing for the live socket
    # the receiver had the room's live sockets re-read who is here: bob is gone
    assert await live.receive_json_from(timeout=TIMEOUT) == {"event": "who", "users": ["alice"]}
    await assert_group_skips(layer, room, live, dead)


async def test_the_heartbeat_sweep_sends_the_pruned_sockets_signals(
    sockets: Sockets, layer: Any, room: str, alice: Any, bob: Any, receivers: Receivers
) -> None:
    with override_settings(WSROUTE=HEARTBEAT):
        live = await live_member(sockets, room, alice)  # starts the heartbeat
        dead = await dead_socket(layer, room, user=bob)  # after alice joined: she hears the refresh

        await asyncio.wait_for(receivers.disconnected.wait(), TIMEOUT)  # set by the receiver

        assert_pruned_signals(receivers.pruned(), dead, bob, room)
        assert await live.receive_json_from(timeout=TIMEOUT) == {"event": "who", "users": ["alice"]}
        await sockets.disconnect(live)
    assert [(entry.signal, entry.sender) for entry in receivers.heard[2:]] == [
        ("group_left", Room),  # the live socket's own, as before
        ("socket_disconnected", Room),
    ]


async def test_a_failing_receiver_stops_neither_the_prune_nor_the_other_receivers(
    layer: Any, room: str, receivers: Receivers, caplog: pytest.LogCaptureFixture
) -> None:
    dead = [await dead_socket(layer, room), await dead_socket(layer, f"{room}-b", server="dead:2")]

    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("a receiver with a bug")

    signals.socket_disconnected.connect(broken, weak=False)
    signals.group_left.connect(broken, weak=False)
    try:
        out = io.StringIO()
        with caplog.at_level(logging.ERROR, logger="wsroute"):
            await database_sync_to_async(call_command)("wsroute_prune", stale_after=60, stdout=out)
    finally:
        signals.socket_disconnected.disconnect(broken)
        signals.group_left.disconnect(broken)

    assert out.getvalue().strip() == "pruned 2 stale socket(s)"
    assert await Socket.objects.filter(channel_name__in=dead).acount() == 0
    heard = [(entry.signal, entry.kwargs["row"].channel_name) for entry in receivers.pruned()]
    assert heard == [
        ("group_left", dead[0]),
        ("socket_disconnected", dead[0]),
        ("group_left", dead[1]),
        ("socket_disconnected", dead[1]),
    ]
    raised = [record for record in caplog.records if record.getMessage().startswith("signal receiver")]
    assert len(raised) == 4
    assert all(isinstance(record.exc_info and record.exc_info[1], RuntimeError) for record in raised)


async def test_pruned_sockets_get_their_signals_even_when_the_layer_fails(
    layer: Any, room: str, receivers: Receivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = await dead_socket(layer, room)

    async def layer_down(group: str, channel: str) -> None:
        raise ConnectionError("channel layer unavailable")

    monkeypatch.setattr(layer, "group_discard", layer_down)
    with pytest.raises(ConnectionError):
        await socket_rows.sweep(60)

    assert await rows() == []
    assert_pruned_signals(receivers.pruned(), dead, None, room)


class ChatRoom(JSONWebSocket):
    """The example chat's ``who`` (example/chat/consumers.py), with users instead of its Member names."""

    persist = True

    @property
    def room(self) -> str:
        return str(self.scope["url_route"]["kwargs"]["room"])

    def on_connect(self) -> None:
        self.group_add(self.room)

    def on_who(self) -> None:
        users = presence.users_in_group(self.room)
        self.send_json({"event": "who", "names": sorted(user.get_username() for user in users)})


async def test_the_example_chat_refreshes_who_is_here_after_a_prune(
    sockets: Sockets, layer: Any, alice: Any, bob: Any
) -> None:
    spec = importlib.util.spec_from_file_location("example_chat_receivers", EXAMPLE_RECEIVERS)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)  # connects its receiver, as ChatConfig.ready() does
    room = f"chat.{uuid.uuid4().hex[:12]}"
    try:
        communicator = WebsocketCommunicator(ChatRoom.as_asgi(), "/ws/chat/")
        communicator.scope.update(user=alice, url_route={"kwargs": {"room": room}})
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        sockets.open.append(communicator)
        await dead_socket(layer, room, user=bob)  # bob's server crashed: he is still listed
        await communicator.send_json_to({"event": "who"})
        assert await communicator.receive_json_from(timeout=TIMEOUT) == {"event": "who", "names": ["alice", "bob"]}

        await database_sync_to_async(call_command)("wsroute_prune", stale_after=60, stdout=io.StringIO())

        # nobody asked: the receiver had the room's sockets send the list again
        assert await communicator.receive_json_from(timeout=TIMEOUT) == {"event": "who", "names": ["alice"]}
    finally:
        signals.group_left.disconnect(example.refresh_who, sender=Socket)
