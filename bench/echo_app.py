"""The ASGI app ``bench/echo.py`` serves: one echo consumer per URL path, nothing else.

Importing this module configures a minimal Django (no database, no installed apps) unless
settings are already configured, so a server can load it directly::

    python -m uvicorn echo_app:application --app-dir bench
    python -m daphne echo_app:application          # with bench/ on PYTHONPATH

``WSROUTE_BENCH_LAYER`` picks the channel layer: ``none`` (default: no layer, so each consumer
awaits only its client) or ``inmemory`` (``InMemoryChannelLayer``: every consumer also awaits
its layer channel, as in a real project). Every variant runs under the same layer.

Paths and frames (the client sends the request, the server answers with the reply):

    /raw/        {"type": "PING"}  -> {"type": "PONG"}   stock AsyncJsonWebsocketConsumer
    /raw_nohop/  {"type": "PING"}  -> {"type": "PONG"}   the same, dispatch without the thread hop
    /decorator/  {"type": "PING"}  -> {"type": "PONG"}   wsroute SocketRouter on a View
    /subclass/   {"event": "ping"} -> {"event": "pong"}  wsroute JSONWebSocket, ``on_ping``
    /asgi/       {"type": "PING"}  -> {"type": "PONG"}   a bare ASGI app: no Channels, no Django

``/asgi/`` is the floor: the least a Python server can do per message (the server's protocol
code, one ``json.loads`` and one ``json.dumps``), answered before Channels' router sees the scope.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import django
from django.conf import settings

LAYER_ENV = "WSROUTE_BENCH_LAYER"
LAYERS: dict[str, dict[str, Any]] = {
    "none": {},
    "inmemory": {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
}

if not settings.configured:
    _layer = os.environ.get(LAYER_ENV, "none")
    if _layer not in LAYERS:
        raise SystemExit(f"{LAYER_ENV}={_layer!r}: expected one of {', '.join(LAYERS)}")
    settings.configure(
        DEBUG=False,
        SECRET_KEY="wsroute-bench-not-secret",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        INSTALLED_APPS=[],
        DATABASES={},
        CHANNEL_LAYERS=LAYERS[_layer],
        # The clients send as fast as the server answers, far above the default per-socket
        # flood limit (100/s); a limit this high keeps flood control's cost in the measurement.
        WSROUTE={"RATE_LIMIT": "1000000/s", "ERROR_LIMIT": None},
        USE_TZ=True,
        LOGGING={
            "version": 1,
            "disable_existing_loggers": False,
            "loggers": {"wsroute": {"level": "WARNING"}, "django": {"level": "WARNING"}},
        },
    )
    django.setup()

# Channels and wsroute read settings when imported, so they come after settings.configure().
from channels.consumer import get_handler_name  # noqa: E402
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402
from django.views import View  # noqa: E402

from wsroute_django.consumer import SocketConsumer  # noqa: E402
from wsroute_django.jsonsocket import JSONWebSocket  # noqa: E402
from wsroute_django.socket_router import SocketRouter  # noqa: E402

__all__ = ["EchoPage", "EchoSocket", "RawEcho", "RawEchoNoHop", "application", "asgi_echo"]


class RawEcho(AsyncJsonWebsocketConsumer):  # type: ignore[misc]  # channels ships no type hints
    """The baseline: a stock Channels JSON consumer, as a hand-written project would have it."""

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "PING":
            await self.send_json({"type": "PONG"})


class RawEchoNoHop(RawEcho):
    """``RawEcho`` without the per-message thread hop of ``AsyncConsumer.dispatch``.

    Channels 4.2+ awaits ``aclose_old_connections()`` (a ``sync_to_async`` hop) before every
    handler; this is the same lookup without it, to measure what the hop costs.
    """

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class EchoPage(View):
    """The decorator style: a ``SocketRouter`` on a Django view."""

    socket = SocketRouter()

    # The socket comes first, not the view; mypy reads a function in a class body as a method.
    @socket.route("PING")
    async def ping(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:  # type: ignore[misc]
        return {"type": "PONG"}


class EchoSocket(JSONWebSocket):
    """The subclass style: a ``JSONWebSocket`` with an ``on_ping`` event."""

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def asgi_echo(scope: Scope, receive: Receive, send: Send) -> None:
    """The bare ASGI WebSocket echo: what is left when the framework costs nothing."""
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.receive":
            text = message.get("text")
            if text is not None:
                content = json.loads(text)
                if isinstance(content, dict) and content.get("type") == "PING":
                    await send({"type": "websocket.send", "text": json.dumps({"type": "PONG"})})
        elif kind == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif kind == "websocket.disconnect":
            return


channels_application = ProtocolTypeRouter(
    {
        "websocket": URLRouter(
            [
                path("raw/", RawEcho.as_asgi()),
                path("raw_nohop/", RawEchoNoHop.as_asgi()),
                path("decorator/", EchoPage.socket.as_asgi()),
                path("subclass/", EchoSocket.as_asgi()),
            ]
        )
    }
)


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket" and scope["path"] == "/asgi/":
        await asgi_echo(scope, receive, send)
    else:
        await channels_application(scope, receive, send)
