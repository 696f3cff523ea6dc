"""What the per-message path must not do: hop threads for async handlers, or encode a group
message once per member."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import SyncToAsync

from tests.consumers.conftest import Connect
from wsroute import envelope
from wsroute_django import JSONWebSocket, RoutedSocketHandler


class Room(JSONWebSocket):
    async def on_connect(self) -> None:
        await self.group_add("hot-room")

    async def on_say(self, event: dict[str, Any]) -> None:
        await self.group_send("hot-room", "said", {"text": event["text"], "n": [1, 2, 3]})

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}


class TypedRoom(RoutedSocketHandler):
    async def on_connect(self) -> None:
        await self.group_add("hot-room")


class Counter:
    def __init__(self) -> None:
        self.calls = 0


@pytest.fixture
def thread_hops(monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter = Counter()
    original = SyncToAsync.__call__

    async def counting(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
        counter.calls += 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    return counter


async def test_async_handlers_make_no_thread_hop_per_message(connect: Connect, thread_hops: Counter) -> None:
    client = await connect(Room.as_asgi())
    before = thread_hops.calls
    for n in range(20):
        assert await client.ask({"event": "ping", "ref": n}) == {"event": "pong", "ref": n}
    assert thread_hops.calls == before


async def test_a_group_message_is_encoded_once_for_all_its_members(
    connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = [await connect(Room.as_asgi()) for _ in range(6)] + [await connect(TypedRoom.as_asgi())]
    objects_encoded: list[object] = []
    encode = envelope._ENCODER.encode

    def counting(value: Any) -> str:
        if isinstance(value, dict):
            objects_encoded.append(value)
        return encode(value)

    monkeypatch.setattr(envelope._ENCODER, "encode", counting)
    await members[0].send({"event": "say", "text": "hello"})
    for member in members[:6]:
        assert await member.recv() == {"event": "said", "text": "hello", "n": [1, 2, 3]}
    # a consumer with another routing key gets the same payload under its own key
    assert await members[6].recv() == {"type": "said", "text": "hello", "n": [1, 2, 3]}
    assert objects_encoded == [{"text": "hello", "n": [1, 2, 3]}]


async def test_a_payload_holding_the_routing_key_still_wins_over_it(connect: Connect) -> None:
    client = await connect(Room.as_asgi())
    typed = await connect(TypedRoom.as_asgi())
    await client.send({"event": "say", "text": "x"})
    assert await client.recv() == {"event": "said", "text": "x", "n": [1, 2, 3]}
    assert await typed.recv() == {"type": "said", "text": "x", "n": [1, 2, 3]}

    class Sneaky(JSONWebSocket):
        async def on_go(self, event: dict[str, Any]) -> None:
            await self.group_send("hot-room", "said", {"type": "overridden", "event": "overridden"})

    sneaky = await connect(Sneaky.as_asgi())
    await sneaky.send({"event": "go"})
    # {<key>: event, **payload}: the payload's own key wins, as for a dict
    assert await client.recv() == {"event": "overridden", "type": "overridden"}
    assert await typed.recv() == {"type": "overridden", "event": "overridden"}
