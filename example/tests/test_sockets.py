"""The example's sockets, through ``project.asgi`` as a browser reaches them: ``cd example && pytest``.

``socket_client`` (wsroute's pytest plugin) logs users in with a real session cookie and sends
an ``Origin`` that ``ALLOWED_HOSTS`` accepts; each test gets a transactional database.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from wsroute_django.testing import HandshakeRefused, SocketClients

User = get_user_model()


async def user(name: str) -> Any:
    return await User.objects.acreate(username=name)


# -- the chat (subclass style) ---------------------------------------------------------------------


async def test_the_room_hears_every_message_and_knows_who_is_here(socket_client: SocketClients) -> None:
    demo = await socket_client("/ws/chat/lobby/", user=await user("demo"))
    assert await demo.receive_event("joined") == {"event": "joined", "name": "demo"}
    assert await demo.receive_event("who") == {"event": "who", "names": ["demo"]}
    guest = await socket_client("/ws/chat/lobby/?name=guest")  # anonymous, named in the URL
    assert await demo.receive_event("joined") == {"event": "joined", "name": "guest"}
    assert (await demo.receive_event("who"))["names"] == ["demo", "guest"]

    reply = await guest.request("say", text="  hello  ")
    assert reply["event"] == "sent"
    for client in (demo, guest):
        assert await client.receive_event("message") == {"event": "message", "name": "guest", "text": "hello"}


async def test_a_blank_message_is_a_validation_error(socket_client: SocketClients) -> None:
    client = await socket_client("/ws/chat/lobby/?name=guest")
    error = await client.expect_error("validation_error", "say", text="   ")
    assert error["errors"][0]["loc"] == ["text"]


async def test_a_nameless_guest_is_turned_away(socket_client: SocketClients) -> None:
    client = await socket_client("/ws/chat/lobby/")
    assert await client.expect_close(4403) == 4403
    assert "a chat name is needed" in client.close_reason


async def test_pages_of_other_sites_cannot_open_a_socket(socket_client: SocketClients) -> None:
    with pytest.raises(HandshakeRefused):
        await socket_client("/ws/chat/lobby/?name=guest", origin="https://evil.example")


# -- the table (decorator style) -------------------------------------------------------------------


async def test_players_must_log_in_and_anyone_may_watch(socket_client: SocketClients) -> None:
    anonymous = await socket_client("/ws/table/")
    assert await anonymous.expect_close() == 4401
    watcher = await socket_client("/ws/table/watch/")
    joined = await watcher.request("JOIN", topic="table")  # spectators join the topic "table"
    assert joined["data"]["seats"] == {"X": None, "O": None}  # the join reply carries the game


async def test_a_seated_player_waits_for_an_opponent(socket_client: SocketClients) -> None:
    watcher = await socket_client("/ws/table/watch/")
    await watcher.request("JOIN", topic="table")
    player = await socket_client("/ws/table/", user=await user("demo"))
    await player.receive_event("STATE")

    assert await player.request("GAME_SIT", {"ref": 1}) == {"type": "OK", "ref": 1}
    assert (await watcher.receive_event("STATE"))["seats"] == {"X": "demo", "O": None}
    error = await player.expect_error("forbidden", "GAME_MOVE", cell=4)
    assert error["detail"] == "wait for an opponent"
    await player.expect_error("validation_error", "GAME_MOVE", cell=9)
    await player.expect_error("unknown_type", "GAME_FLY")  # a regex route may refuse, too
    assert (await player.request("HELLO"))["type"] == "UNKNOWN"  # the default route
