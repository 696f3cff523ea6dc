"""What a ``SocketClient`` connects to, and the headers a browser would send it.

A target is a URL path (served by the project's ``ASGI_APPLICATION``, as in production), a
consumer class, a ``SocketRouter``, or any ASGI application. The consumer behind it, when it
can be found, tells the client its routing key and the value of its error frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Target", "find_consumer", "login_cookie", "origin_for_settings", "resolve"]

#: routing key -> the value error frames carry under it, for consumers the client cannot see
ERROR_VALUES = {"type": "ERROR", "event": "error"}

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Target:
    app: Callable[..., Any]
    path: str
    #: the consumer class that serves ``path``, if it could be found
    consumer: type | None


def resolve(target: Any, path: str | None, auth: bool | None) -> Target:
    """The ASGI application, path and consumer class for ``SocketClient(target, path)``.

    Consumer classes, ``SocketRouter`` and ``Consumer.as_asgi()`` apps are wrapped in
    Channels' ``AuthMiddlewareStack`` (unless ``auth=False``), as the project's ASGI
    application would wrap them; other applications are used as they are (``auth=True``
    wraps them too).
    """
    if isinstance(target, str):
        if path is not None:
            raise TypeError(
                "SocketClient(path) takes the path once: SocketClient('/ws/chat/') or SocketClient(app, path)"
            )
        from channels.routing import get_default_application

        app = get_default_application()
        return Target(_wrapped(app) if auth else app, target, find_consumer(app, urlsplit(target).path))
    path = "/" if path is None else path
    consumer: type | None = None
    handler = getattr(target, "Handler", None)  # a SocketRouter (decorator style)
    if isinstance(handler, type) and hasattr(handler, "as_asgi"):
        consumer, app = handler, handler.as_asgi()
    elif isinstance(target, type) and hasattr(target, "as_asgi"):
        consumer, app = target, target.as_asgi()
    elif callable(target):
        app = target
        consumer = find_consumer(app, urlsplit(path).path)
        if getattr(app, "consumer_class", None) is None:  # a router or middleware stack: as it is
            return Target(_wrapped(app) if auth else app, path, consumer)
    else:
        raise TypeError(f"SocketClient needs a URL path, a consumer class or an ASGI application, got {target!r}")
    return Target(app if auth is False else _wrapped(app), path, consumer)


def _wrapped(app: Callable[..., Any]) -> Callable[..., Any]:
    from channels.auth import AuthMiddlewareStack

    return AuthMiddlewareStack(app)  # type: ignore[no-any-return]


def find_consumer(app: Any, path: str, depth: int = 0) -> type | None:
    """The consumer class ``app`` routes ``path`` to: through ``ProtocolTypeRouter``,
    ``URLRouter`` (nested too) and middleware that keeps its inner application as
    ``inner``, ``application`` or ``app``. None if the walk ends anywhere else."""
    if app is None or depth > 32:
        return None
    consumer = getattr(app, "consumer_class", None)
    if isinstance(consumer, type):
        return consumer
    mapping = getattr(app, "application_mapping", None)  # ProtocolTypeRouter
    if isinstance(mapping, dict):
        return find_consumer(mapping.get("websocket"), path, depth + 1)
    from channels.routing import URLRouter
    from django.urls import Resolver404

    if isinstance(app, URLRouter):
        remaining = path.lstrip("/")  # as URLRouter does
        for route in app.routes:
            try:
                match = route.pattern.match(remaining)
            except Resolver404:
                continue
            if match:
                return find_consumer(route.callback, match[0], depth + 1)
        return None
    for name in ("inner", "application", "app"):
        inner = getattr(app, name, None)
        if inner is not None and inner is not app:
            return find_consumer(inner, path, depth + 1)
    return None


def origin_for_settings() -> str:
    """An ``Origin`` that ``AllowedHostsOriginValidator`` accepts under the current settings:
    the first concrete name in ``ALLOWED_HOSTS`` (``localhost`` under ``DEBUG`` with none,
    as the validator itself allows; Django's test host ``testserver`` otherwise)."""
    from django.conf import settings

    hosts: Sequence[str] = settings.ALLOWED_HOSTS
    if not hosts and settings.DEBUG:
        hosts = ["localhost"]
    for host in hosts:
        if host == "*":
            continue
        host = host.lstrip(".")  # ".example.com" allows example.com and its subdomains
        return host if "://" in host else f"http://{host}"
    return "http://testserver"


def login_cookie(user: Any, backend: str | None = None) -> tuple[str, str]:
    """Log ``user`` in to a new session and return its cookie, ``(name, value)``.

    It is Django's own ``login()`` on a new session of ``SESSION_ENGINE``, as Django's test
    client does: the session carries the user's id, backend and auth hash, so Channels'
    ``AuthMiddlewareStack`` finds the user and a database-backed session has its row. Runs
    the ORM: call it from a worker thread (``database_sync_to_async``).
    """
    from django.conf import settings
    from django.contrib.auth import login
    from django.http import HttpRequest

    engine = import_module(settings.SESSION_ENGINE)
    request = HttpRequest()
    request.session = engine.SessionStore()
    login(request, user, backend or settings.AUTHENTICATION_BACKENDS[0])
    request.session.save()
    key = request.session.session_key
    assert key is not None  # saved just above
    return settings.SESSION_COOKIE_NAME, key


def with_header(headers: Headers, name: bytes, value: bytes) -> Headers:
    """``headers`` plus ``name: value``; a cookie joins an existing cookie header (Channels reads only the first)."""
    if name == b"cookie":
        for index, (existing, current) in enumerate(headers):
            if existing.lower() == b"cookie":
                return [*headers[:index], (existing, current + b"; " + value), *headers[index + 1 :]]
    return [*headers, (name, value)]


def has_header(headers: Headers, name: bytes) -> bool:
    return any(existing.lower() == name for existing, _ in headers)
