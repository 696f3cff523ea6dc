"""Presence as queries (per path, per group) and the join/leave signals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.dispatch import Signal

from tests.rows.conftest import TIMEOUT, Sockets, only_row, rows
from wsroute_django import JSONWebSocket, presence, signals
from wsroute_django.models import Socket, SocketGroup

pytestmark = pytest.mark.django_db(transaction=True)


class Room(JSONWebSocket):
    persist = True

    async def on_join(self, event: dict[str, Any]) -> dict[str, Any]:
        await self.group_add(event["room"])
        return {"event": "joined"}

    def on_leave(self, event: dict[str, Any]) -> dict[str, Any]:  # sync: group ops work without await
        self.group_discard(event["room"])
        return {"event": "left"}


async def join(communicator: Any, room: str) -> None:
    await communicator.send_json_to({"event": "join", "room": room})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"event": "joined"}


async def leave(communicator: Any, room: str) -> None:
    await communicator.send_json_to({"event": "leave", "room": room})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"event": "left"}


async def usernames(users: Any) -> list[str]:
    return sorted([user.username async for user in users])


async def test_group_membership_is_queryable(sockets: Sockets, alice: Any, bob: Any, room: str) -> None:
    at_alice = await sockets.connect(Room, "/chat/", user=alice)
    await sockets.connect(Room, "/chat/", user=bob)
    await sockets.connect(Room, "/elsewhere/", user=bob)

    await join(at_alice, room)

    row = await only_row(user=alice)
    assert [socket.pk async for socket in Socket.objects.in_group(room)] == [row.pk]
    assert await usernames(presence.users_in_group(room)) == ["alice"]
    assert await usernames(presence.users_on_path("/chat/")) == ["alice", "bob"]
    assert await usernames(presence.users_on_path("/elsewhere/")) == ["bob"]
    assert await Socket.objects.on_path("/chat/").acount() == 2
    assert await Socket.objects.in_group("never-joined").acount() == 0

    await join(at_alice, room)  # joining twice keeps one membership
    assert await SocketGroup.objects.filter(name=room).acount() == 1


async def test_a_user_with_two_sockets_is_listed_once(sockets: Sockets, alice: Any, room: str) -> None:
    first = await sockets.connect(Room, "/chat/", user=alice)
    second = await sockets.connect(Room, "/chat/", user=alice)
    await join(first, room)
    await join(second, room)

    assert await usernames(presence.users_in_group(room)) == ["alice"]
    assert await usernames(presence.users_on_path("/chat/")) == ["alice"]
    assert await Socket.objects.in_group(room).acount() == 2


async def test_group_discard_removes_the_membership(sockets: Sockets, alice: Any, room: str) -> None:
    communicator = await sockets.connect(Room, "/chat/", user=alice)
    await join(communicator, room)
    await join(communicator, f"{room}-b")

    await leave(communicator, room)

    assert await Socket.objects.in_group(room).acount() == 0
    assert await usernames(presence.users_in_group(room)) == []
    assert await usernames(presence.users_in_group(f"{room}-b")) == ["alice"]
    assert await usernames(presence.users_on_path("/chat/")) == ["alice"]  # still connected


async def test_disconnect_removes_row_and_memberships(sockets: Sockets, alice: Any, room: str) -> None:
    communicator = await sockets.connect(Room, "/chat/", user=alice)
    await join(communicator, room)

    await sockets.disconnect(communicator)

    assert await rows() == []
    assert await SocketGroup.objects.acount() == 0
    assert await usernames(presence.users_in_group(room)) == []
    assert await usernames(presence.users_on_path("/chat/")) == []


# -- signals --------------------------------------------------------------------------------


@dataclass
class Call:
    signal: str
    sender: Any
    socket: Any
    extra: dict[str, Any]
    #: the socket's row, read from the database while the receiver ran
    row_in_db: bool
    in_group_in_db: bool | None = None


@dataclass
class SignalLog:
    calls: list[Call] = field(default_factory=list)

    def of(self, name: str) -> list[Call]:
        return [call for call in self.calls if call.signal == name]


@pytest.fixture
def signal_log() -> Iterator[SignalLog]:
    log = SignalLog()
    named: dict[str, Signal] = {
        "socket_connected": signals.socket_connected,
        "socket_disconnected": signals.socket_disconnected,
        "group_joined": signals.group_joined,
        "group_left": signals.group_left,
    }

    def receiver_for(name: str) -> Any:
        def receiver(sender: Any, *, signal: Signal, socket: Any, **extra: Any) -> None:
            # a sync receiver: Django runs it in a worker thread, where the ORM works
            channel = socket.channel_name
            group = extra.get("group")
            log.calls.append(
                Call(
                    signal=name,
                    sender=sender,
                    socket=socket,
                    extra=extra,
                    row_in_db=Socket.objects.filter(channel_name=channel).exists(),
                    in_group_in_db=None
                    if group is None
                    else SocketGroup.objects.filter(socket__channel_name=channel, name=group).exists(),
                )
            )

        return receiver

    receivers = {name: receiver_for(name) for name in named}
    for name, signal in named.items():
        signal.connect(receivers[name], weak=False)
    yield log
    for name, signal in named.items():
        signal.disconnect(receivers[name])


async def test_signals_fire_with_the_socket(sockets: Sockets, signal_log: SignalLog, alice: Any, room: str) -> None:
    communicator = await sockets.connect(Room, "/chat/", user=alice)
    [connected] = signal_log.of("socket_connected")
    consumer = connected.socket
    assert connected.sender is Room
    assert isinstance(consumer, Room)
    assert consumer.user == alice
    assert consumer.record is not None
    assert connected.extra == {}
    assert connected.row_in_db  # sent after the row is written

    await join(communicator, room)
    [joined] = signal_log.of("group_joined")
    assert (joined.sender, joined.socket, joined.extra) == (Room, consumer, {"group": room})
    assert joined.in_group_in_db  # sent after the membership is written

    await leave(communicator, room)
    [left] = signal_log.of("group_left")
    assert (left.sender, left.socket, left.extra) == (Room, consumer, {"group": room})
    assert left.in_group_in_db is False

    await join(communicator, room)
    await sockets.disconnect(communicator, code=4001)

    assert [call.signal for call in signal_log.calls] == [
        "socket_connected",
        "group_joined",
        "group_left",
        "group_joined",
        "group_left",  # every group is left on disconnect
        "socket_disconnected",
    ]
    left_on_close = signal_log.of("group_left")[-1]
    assert (left_on_close.socket, left_on_close.extra) == (consumer, {"group": room})
    [disconnected] = signal_log.of("socket_disconnected")
    assert (disconnected.sender, disconnected.socket, disconnected.extra) == (Room, consumer, {"code": 4001})
    assert disconnected.row_in_db is False  # the row is gone by then


async def test_signals_fire_without_persistence(sockets: Sockets, signal_log: SignalLog, room: str) -> None:
    class Volatile(Room):
        persist = False

    communicator = await sockets.connect(Volatile)
    await join(communicator, room)
    await sockets.disconnect(communicator)

    assert [(call.signal, call.sender) for call in signal_log.calls] == [
        ("socket_connected", Volatile),
        ("group_joined", Volatile),
        ("group_left", Volatile),
        ("socket_disconnected", Volatile),
    ]
    assert not any(call.row_in_db for call in signal_log.calls)
