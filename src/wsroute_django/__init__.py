"""Django Channels adapters for wsroute.

Importing this package touches neither settings nor the app registry, so it is safe in
``settings.py``, ``urls.py`` and ``asgi.py``; each name is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from wsroute import DROP, Forbidden, Join, Reject

if TYPE_CHECKING:  # the same names as _LAZY (tests/test_exports.py checks)
    from wsroute_django.consumer import SocketConsumer as SocketConsumer
    from wsroute_django.groups import InvalidGroupName as InvalidGroupName
    from wsroute_django.jsonsocket import JSONWebSocket as JSONWebSocket
    from wsroute_django.middleware import HeartbeatMiddleware as HeartbeatMiddleware
    from wsroute_django.middleware import SocketMiddleware as SocketMiddleware
    from wsroute_django.routed_socket_handler import RoutedSocketHandler as RoutedSocketHandler
    from wsroute_django.sending import asend_to_group as asend_to_group
    from wsroute_django.sending import send_to_group as send_to_group
    from wsroute_django.socket_router import SocketRouter as SocketRouter
    from wsroute_django.topics import asend_to_topic as asend_to_topic
    from wsroute_django.topics import send_to_topic as send_to_topic
    from wsroute_django.topics import topic as topic

#: public name -> the module it is imported from on first use
_LAZY = {
    "HeartbeatMiddleware": "wsroute_django.middleware",
    "InvalidGroupName": "wsroute_django.groups",
    "JSONWebSocket": "wsroute_django.jsonsocket",
    "RoutedSocketHandler": "wsroute_django.routed_socket_handler",
    "SocketConsumer": "wsroute_django.consumer",
    "SocketMiddleware": "wsroute_django.middleware",
    "SocketRouter": "wsroute_django.socket_router",
    "asend_to_group": "wsroute_django.sending",
    "send_to_group": "wsroute_django.sending",
    "asend_to_topic": "wsroute_django.topics",
    "send_to_topic": "wsroute_django.topics",
    "topic": "wsroute_django.topics",
}

__all__ = ["DROP", "Forbidden", "Join", "Reject", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wsroute_django' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
