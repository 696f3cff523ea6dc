"""The ASGI application: ``daphne project.asgi:application`` (or ``manage.py runserver``)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the consumers import models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from chat.consumers import ChatConsumer  # noqa: E402
from chat.rooms import Rooms  # noqa: E402
from table.views import Table  # noqa: E402

websocket_urlpatterns = [
    re_path(r"^ws/chat/(?P<room>[-a-zA-Z0-9_]{1,50})/$", ChatConsumer.as_asgi()),  # subclass style
    re_path(r"^ws/rooms/$", Rooms.socket.as_asgi()),  # decorator style, rooms as topics
    re_path(r"^ws/table/$", Table.socket.as_asgi()),  # decorator style, players (login required)
    re_path(r"^ws/table/watch/$", Table.watchers.as_asgi()),  # decorator style, anyone
]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin checked against ALLOWED_HOSTS; user and session from the session cookie.
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
