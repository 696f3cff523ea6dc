"""The ASGI app ``bench/fanout.py`` serves: wsroute consumers under the channel layer it is told.

Importing this module configures a minimal Django (no database, no installed apps) unless
settings are already configured, so a server can load it directly::

    WSROUTE_BENCH_LAYER=memory python -m uvicorn fanout_app:application --app-dir bench

``WSROUTE_BENCH_LAYER`` picks the channel layer: ``inmemory`` (Channels'
``InMemoryChannelLayer``, the default), ``memory`` (wsroute's ``MemoryChannelLayer``) or
``redis`` (channels-redis at ``WSROUTE_BENCH_REDIS_URL``, default redis://127.0.0.1:6379/0).

Paths (all ``JSONWebSocket`` consumers, so each socket also has a layer pump waiting on its channel):

    /member/   joins the group "fan" on connect; gets {"event": "shouted", "n": n} for each shout
    /sender/   {"event": "shout", "n": n} -> group_send("fan", "shouted", {"n": n}), no reply
    /idle/     {"event": "ping"} -> {"event": "pong"}; joins no group

and the same fan-out written as a stock Channels project would (``AsyncJsonWebsocketConsumer``,
a ``chat.message``-style handler method per event type), for ``bench/fanout_stock.py``:

    /stock/member/   joins the group "stock_fan"; sends {"event": "shouted", "n": n} per shout
    /stock/sender/   {"event": "shout", "n": n} -> group_send("stock_fan", {"type": "shouted", "n": n})
"""

from __future__ import annotations

import os
from typing import Any

import django
from django.conf import settings

LAYER_ENV = "WSROUTE_BENCH_LAYER"
LAYERS: dict[str, dict[str, Any]] = {
    "inmemory": {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
    "memory": {"default": {"BACKEND": "wsroute_django.memory_layer.MemoryChannelLayer"}},
    "redis": {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # channels-redis's receive blocks 5 s in BZPOPMIN; redis-py 8's default 5 s socket
                # timeout would kill an idle consumer (docs/deploying.md), stock and wsroute alike.
                "hosts": [
                    {
                        "address": os.environ.get("WSROUTE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
                        "socket_timeout": 10,
                    }
                ],
                "prefix": "wsroute-bench",
            },
        }
    },
}
GROUP = "fan"
STOCK_GROUP = "stock_fan"

if not settings.configured:
    _layer = os.environ.get(LAYER_ENV, "inmemory")
    if _layer not in LAYERS:
        raise SystemExit(f"{LAYER_ENV}={_layer!r}: expected one of {', '.join(LAYERS)}")
    settings.configure(
        DEBUG=False,
        SECRET_KEY="wsroute-bench-not-secret",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        INSTALLED_APPS=[],
        DATABASES={},
        CHANNEL_LAYERS=LAYERS[_layer],
        # The sender shouts as fast as the members keep up, far above the default flood limit.
        WSROUTE={"RATE_LIMIT": None, "ERROR_LIMIT": None, "PERSIST": False},
        USE_TZ=True,
        LOGGING={
            "version": 1,
            "disable_existing_loggers": False,
            "loggers": {"wsroute": {"level": "WARNING"}, "django": {"level": "WARNING"}},
        },
    )
    django.setup()

# Channels and wsroute read settings when imported, so they come after settings.configure().
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from wsroute_django.jsonsocket import JSONWebSocket  # noqa: E402

__all__ = ["Idle", "Member", "Sender", "StockMember", "StockSender", "application"]


class Member(JSONWebSocket):
    """A listener: in the group from the moment its handshake completes."""

    async def on_connect(self) -> None:
        await self.group_add(GROUP)


class Sender(JSONWebSocket):
    """Turns each client ``shout`` into one ``group_send`` to every member."""

    async def on_shout(self, event: dict[str, Any]) -> None:
        await self.group_send(GROUP, "shouted", {"n": event["n"]})


class Idle(JSONWebSocket):
    """An open socket that does nothing but answer a ping (its layer pump still waits)."""

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}


class StockMember(AsyncJsonWebsocketConsumer):  # type: ignore[misc]  # channels ships no type hints
    """A stock Channels listener: joins the group, then accepts."""

    async def connect(self) -> None:
        await self.channel_layer.group_add(STOCK_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(STOCK_GROUP, self.channel_name)

    async def shouted(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": "shouted", "n": message["n"]})


class StockSender(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """A stock Channels sender: each client ``shout`` becomes one ``group_send``."""

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "shout":
            await self.channel_layer.group_send(STOCK_GROUP, {"type": "shouted", "n": content["n"]})


application = ProtocolTypeRouter(
    {
        "websocket": URLRouter(
            [
                path("member/", Member.as_asgi()),
                path("sender/", Sender.as_asgi()),
                path("idle/", Idle.as_asgi()),
                path("stock/member/", StockMember.as_asgi()),
                path("stock/sender/", StockSender.as_asgi()),
            ]
        )
    }
)
