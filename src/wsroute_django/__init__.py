"""Django Channels adapters for wsroute.

Importing this package touches neither settings nor the app registry, so it is safe in
``settings.py``, ``urls.py`` and ``asgi.py``; each name is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from wsroute import DROP, Forbidden, Reject

if TYPE_CHECKING:
    from wsroute_django.consumer import SocketConsumer
    from wsroute_django.groups import InvalidGroupName
    from wsroute_django.jsonsocket import JSONWebSocket
    from wsroute_django.middleware import HeartbeatMiddleware, SocketMiddleware
    from wsroute_django.routed import RoutedSocketHandler
    from wsroute_django.router import SocketRouter

__all__ = [
    "DROP",
    "Forbidden",
    "HeartbeatMiddleware",
    "InvalidGroupName",
    "JSONWebSocket",
    "Reject",
    "RoutedSocketHandler",
    "SocketConsumer",
    "SocketMiddleware",
    "SocketRouter",
]

_LAZY = {
    "HeartbeatMiddleware": "wsroute_django.middleware",
    "InvalidGroupName": "wsroute_django.groups",
    "JSONWebSocket": "wsroute_django.jsonsocket",
    "RoutedSocketHandler": "wsroute_django.routed",
    "SocketConsumer": "wsroute_django.consumer",
    "SocketMiddleware": "wsroute_django.middleware",
    "SocketRouter": "wsroute_django.router",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wsroute_django' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
