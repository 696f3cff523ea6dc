"""Socket rows, presence queries, signals, stale-row pruning and the heartbeat middleware."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.dispatch import receiver
from django.utils import timezone

from wsroute_django import HeartbeatMiddleware, JSONWebSocket, presence
from wsroute_django.models import Socket, SocketGroup
from wsroute_django.signals import group_left, socket_connected, socket_disconnected


# --8<-- [start:consumer]
class Lobby(JSONWebSocket):
    persist = True  # write a Socket row for each connection, whatever WSROUTE["PERSIST"] says

    def on_connect(self) -> None:
        self.group_add("lobby")

    def on_who(self, event: dict[str, Any]) -> dict[str, Any]:  # sync: the ORM works here
        users = presence.users_on_path(self.path)
        return {"event": "who", "users": sorted(user.get_username() for user in users)}


log: list[str] = []


@receiver(socket_connected, sender=Lobby)
def socket_opened(sender: type[Lobby], socket: Lobby, **kwargs: Any) -> None:
    log.append(f"connected: {socket.user} on {socket.path}")


@receiver(socket_disconnected, sender=Lobby)
def socket_closed(sender: type[Lobby], socket: Lobby, code: int, **kwargs: Any) -> None:
    log.append(f"disconnected: {socket.user} with {code}")


# sender=Socket: the rows of a server process that died, deleted by the stale-row sweep
@receiver(group_left, sender=Socket)
def pruned_left(sender: type[Socket], socket: None, group: str, row: Socket, **kwargs: Any) -> None:
    log.append(f"left {group}: {row.user} on {row.path} (pruned)")


@receiver(socket_disconnected, sender=Socket)
def pruned_closed(sender: type[Socket], socket: None, code: int, row: Socket, **kwargs: Any) -> None:
    log.append(f"disconnected: {row.user} with {code} (pruned)")


# --8<-- [end:consumer]


# --8<-- [start:heartbeat]
class Heartbeat(HeartbeatMiddleware):
    timeout = 0.5  # seconds of silence before closing with 4408; the default is 60


class Dashboard(JSONWebSocket):
    persist = False  # no Socket row for these
    middlewares = [Heartbeat]


# --8<-- [end:heartbeat]


# --8<-- [start:main]
async def main() -> list[str]:
    log.clear()
    User = get_user_model()
    ada = await User.objects.acreate(username="ada")
    bob = await User.objects.acreate(username="bob")

    clients = []
    for user, address in [(ada, "203.0.113.7"), (ada, "2001:db8::7"), (bob, "198.51.100.2")]:
        client = WebsocketCommunicator(Lobby.as_asgi(), "/lobby/")
        client.scope.update(user=user, client=(address, 50000))
        await client.connect()
        clients.append(client)

    await clients[0].send_json_to({"event": "who"})
    log.append(json.dumps(await clients[0].receive_json_from()))
    log.append(f"sockets on /lobby/: {await Socket.objects.on_path('/lobby/').acount()}")
    log.append(f"ada's sockets: {await Socket.objects.for_user(ada).acount()}")
    in_lobby = [user.get_username() async for user in presence.users_in_group("lobby")]
    log.append(f"users in group lobby: {sorted(in_lobby)}")
    async for row in Socket.objects.for_user(ada).order_by("pk"):
        log.append(f"row: path={row.path} user_ip={row.user_ip} active={row.active}")

    await clients[2].disconnect()
    log.append(f"sockets on /lobby/: {await Socket.objects.on_path('/lobby/').acount()}")

    # bob's socket on a server process that died: nobody refreshes its last_ping any more.
    crashed = await Socket.objects.acreate(
        channel_name="specific.crashed!1", user=bob, path="/lobby/", last_ping=timezone.now() - timedelta(minutes=10)
    )
    await SocketGroup.objects.acreate(socket=crashed, name="lobby")
    out = io.StringIO()
    await sync_to_async(call_command)("wsroute_prune", stdout=out)
    log.append(out.getvalue().strip())
    log.append(f"sockets on /lobby/: {await Socket.objects.on_path('/lobby/').acount()}")
    for client in clients[:2]:
        await client.disconnect()

    quiet = WebsocketCommunicator(Dashboard.as_asgi(), "/dashboard/")
    await quiet.connect()
    closed = await quiet.receive_output(timeout=3)  # nothing sent for 0.5 s
    log.append(f"dashboard closed with {closed['code']}")
    await quiet.disconnect()
    return log


# --8<-- [end:main]
