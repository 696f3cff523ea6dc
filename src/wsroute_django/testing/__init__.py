"""Test your consumers: ``SocketClient``, and pytest fixtures (``socket_client``).

``SocketClient`` talks to a consumer in the test's own process through Channels'
``WebsocketCommunicator``, as a logged-in user or anonymously, with the ``Origin`` header a
browser on your site sends. The pytest plugin (``wsroute_django.testing.pytest_plugin``) is
registered through the ``pytest11`` entry point; see the "Testing your consumers" page.
"""

from __future__ import annotations

from wsroute_django.testing.client import DEFAULT_ORIGIN, SocketClient
from wsroute_django.testing.errors import (
    ErrorReply,
    FrameTimeout,
    HandshakeRefused,
    SocketClientError,
    SocketClosed,
    UnexpectedFrame,
)
from wsroute_django.testing.factory import SocketClients
from wsroute_django.testing.target import login_cookie

__all__ = [
    "DEFAULT_ORIGIN",
    "ErrorReply",
    "FrameTimeout",
    "HandshakeRefused",
    "SocketClient",
    "SocketClientError",
    "SocketClients",
    "SocketClosed",
    "UnexpectedFrame",
    "login_cookie",
]
