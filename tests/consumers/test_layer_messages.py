"""Channel-layer messages a consumer does not know are logged, never fatal."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from channels.layers import BaseChannelLayer
from django.views import View

from tests.consumers.conftest import Connect
from wsroute_django import JSONWebSocket, SocketRouter
from wsroute_django.consumer import SocketConsumer


class EventStyle(JSONWebSocket):
    def on_connect(self) -> None:
        self.send_json({"event": "welcome"})

    def on_whoami(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "me", "channel": self.channel_name}

    def chat_message(self, message: dict[str, Any]) -> None:
        """A Channels-style layer handler (``{"type": "chat.message"}``), sync..."""
        self.send_json({"event": "chat", "text": message["text"]})

    async def chat_notice(self, message: dict[str, Any]) -> None:
        """... or async."""
        await self.send_json({"event": "notice", "text": message["text"]})


class DecoratorPage(View):
    socket = SocketRouter()

    @socket.connect
    def welcome(socket: SocketConsumer) -> None:
        socket.send_json({"type": "welcome"})

    @socket.route("whoami")
    def whoami(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "me", "channel": socket.channel_name}


STYLES = {"event": (EventStyle.as_asgi(), "event"), "decorator": (DecoratorPage.socket.as_asgi(), "type")}

UNKNOWN_TYPES = [
    "nope.thing",  # no such method
    "state",  # an attribute, not a method
    "on.connect",  # the lifecycle hook: never run by a layer message
]


@pytest.mark.parametrize("layer_type", UNKNOWN_TYPES)
@pytest.mark.parametrize("style", STYLES)
async def test_unknown_layer_message_is_logged_and_the_consumer_lives(
    connect: Connect,
    channel_layer: BaseChannelLayer,
    caplog: pytest.LogCaptureFixture,
    style: str,
    layer_type: str,
) -> None:
    app, key = STYLES[style]
    client = await connect(app)
    assert await client.recv() == {key: "welcome"}
    channel = (await client.ask({key: "whoami"}))["channel"]

    with caplog.at_level(logging.WARNING, logger="wsroute"):
        await channel_layer.send(channel, {"type": layer_type, "text": "hi"})
        # The consumer handles its layer messages in order; this one answers once the first is done.
        await channel_layer.send(channel, {"type": "wsroute.send", "frame": {key: "after"}})
        assert await client.recv() == {key: "after"}

    assert any(layer_type in record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)
    assert await client.ask({key: "whoami"}) == {key: "me", "channel": channel}
    await client.silent()  # no second welcome


async def test_channels_style_layer_handlers_still_run(connect: Connect, channel_layer: BaseChannelLayer) -> None:
    client = await connect(EventStyle.as_asgi())
    assert await client.recv() == {"event": "welcome"}
    channel = (await client.ask({"event": "whoami"}))["channel"]
    await channel_layer.send(channel, {"type": "chat.message", "text": "from a view"})
    assert await client.recv() == {"event": "chat", "text": "from a view"}
    await channel_layer.send(channel, {"type": "chat.notice", "text": "from a task"})
    assert await client.recv() == {"event": "notice", "text": "from a task"}
