"""Per-process liveness: ``touch``, the stale-row prune, ``wsroute_prune``, and the heartbeat task."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.rows.conftest import TIMEOUT, Sockets, eventually, only_row, rows
from wsroute_django import JSONWebSocket, groups, presence
from wsroute_django.models import Socket, SocketGroup

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = timedelta(hours=1)


class Room(JSONWebSocket):
    persist = True

    async def on_join(self, event: dict[str, Any]) -> dict[str, Any]:
        await self.group_add(event["room"])
        return {"event": "joined"}


async def dead_socket(layer: Any, room: str, *, server: str = "dead:1") -> str:
    """A channel whose server process died: still in the layer group, its row no longer refreshed."""
    channel: str = await layer.new_channel()
    await layer.group_add(room, channel)

    def write() -> None:
        row = Socket.objects.create(
            channel_name=channel, path="/chat/", last_ping=timezone.now() - LONG_AGO, server=server
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
    if isinstance(layer, InMemoryChannelLayer):
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
