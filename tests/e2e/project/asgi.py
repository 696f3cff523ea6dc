"""``python -m daphne tests.e2e.project.asgi:application``."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.e2e.project.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the consumers import models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from tests.e2e.project.consumers import Chat, FailingConnect, Lobby, Rooms, SlowConnect  # noqa: E402
from tests.e2e.project.stress import FloodHandler, StressDec, StressSub  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AuthMiddlewareStack(
            URLRouter(
                [
                    path("lobby/", Lobby.socket.as_asgi()),
                    path("chat/<slug:room>/", Chat.as_asgi()),
                    path("rooms/", Rooms.socket.as_asgi()),
                    path("failing/", FailingConnect.as_asgi()),
                    path("slow-connect/", SlowConnect.as_asgi()),
                    # bench/fuzz.py, bench/soak.py and tests/e2e/test_fuzz_soak.py
                    path("stress/dec/", StressDec.socket.as_asgi()),
                    path("stress/sub/", StressSub.as_asgi()),
                    path("stress/flood/", FloodHandler.as_asgi()),
                ]
            )
        ),
    }
)
