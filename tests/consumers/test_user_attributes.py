"""A consumer's own attributes never collide with the framework's: a game may set
``self.state``, ``self.groups``, ``self.record`` or ``self.dispatcher`` for itself."""

from __future__ import annotations

from typing import Any

from channels.layers import InMemoryChannelLayer

from tests.consumers.conftest import Connect
from wsroute_django import JSONWebSocket


class Game(JSONWebSocket):
    async def on_connect(self) -> None:
        self.state = "lobby"
        self.groups = ["mine", "not", "channels'"]
        self.record = {"wins": 0}
        self.dispatcher = None
        await self.group_add("table-1")

    async def on_play(self, event: dict[str, Any]) -> dict[str, Any]:
        self.state = "playing"
        self.record["wins"] += 1
        return {"event": "state", "state": self.state, "groups": self.groups, "record": self.record}

    async def on_shout(self, event: dict[str, Any]) -> None:
        await self.group_send("table-1", "shouted", {"text": event["text"]})


async def test_user_attributes_shadow_the_framework_views_without_breaking_it(
    connect: Connect, memory_layer: InMemoryChannelLayer
) -> None:
    client = await connect(Game.as_asgi())
    assert await client.ask({"event": "play", "ref": 1}) == {
        "event": "state",
        "state": "playing",
        "groups": ["mine", "not", "channels'"],
        "record": {"wins": 1},
        "ref": 1,
    }
    await client.send({"event": "shout", "text": "hi"})
    assert await client.recv() == {"event": "shouted", "text": "hi"}  # the real group still works
    assert len(memory_layer.groups["table-1"]) == 1
    await client.disconnect()
    assert "table-1" not in memory_layer.groups  # and is left on disconnect


async def test_without_shadowing_the_views_say_what_the_socket_is(connect: Connect) -> None:
    class Plain(JSONWebSocket):
        async def on_connect(self) -> None:
            await self.group_add("room-9")

        async def on_look(self, event: dict[str, Any]) -> dict[str, Any]:
            return {"event": "look", "state": self.state.value, "groups": sorted(self.groups), "record": self.record}

    client = await connect(Plain.as_asgi())
    assert await client.ask({"event": "look"}) == {
        "event": "look",
        "state": "open",
        "groups": ["room-9"],
        "record": None,
    }
