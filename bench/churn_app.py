"""The ASGI app ``bench/churn.py`` serves: one PING/PONG consumer per URL path.

Settings come from ``churn_settings`` (its database from the environment), so a server loads
it with ``bench/`` on ``PYTHONPATH``::

    WSROUTE_BENCH_DATABASE_URL=sqlite:////tmp/churn.sqlite3 python -m daphne churn_app:application

Paths (the client sends ``{"type": "PING"}``, the consumer answers with a ``PONG`` frame):

    /raw/     stock AsyncJsonWebsocketConsumer, {"type": "PONG"}
    /norows/  wsroute RoutedSocketHandler, persist = False, {"type": "PONG", "ts": ...}
    /rows/    the same with persist = True: a Socket row written on connect, deleted on disconnect
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "churn_settings")
django.setup()

# Channels and wsroute need configured settings and a ready app registry: they come after setup().
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from wsroute_django.routed_socket_handler import RoutedSocketHandler  # noqa: E402

__all__ = ["ChurnRows", "ChurnSocket", "RawChurn", "application"]


class RawChurn(AsyncJsonWebsocketConsumer):  # type: ignore[misc]  # channels ships no type hints
    """The baseline: a stock Channels JSON consumer answering PING."""

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "PING":
            await self.send_json({"type": "PONG"})


class ChurnSocket(RoutedSocketHandler):
    """wsroute without Socket rows; ``RoutedSocketHandler`` routes PING to its heartbeat."""

    persist: ClassVar[bool | None] = False


class ChurnRows(RoutedSocketHandler):
    """wsroute with a Socket row per connection."""

    persist: ClassVar[bool | None] = True


application = ProtocolTypeRouter(
    {
        "websocket": URLRouter(
            [
                path("raw/", RawChurn.as_asgi()),
                path("norows/", ChurnSocket.as_asgi()),
                path("rows/", ChurnRows.as_asgi()),
            ]
        )
    }
)
