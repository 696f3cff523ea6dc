"""The decorator style: ``socket = SocketRouter()`` on a Django ``View``."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from wsroute import ConfigError, RouteTableBuilder
from wsroute.handlers import HandlerSpec
from wsroute.routing import RouteKey
from wsroute.topics import TopicKey, compile_topic
from wsroute_django.consumer import RouteEntry, SocketConsumer, TopicEntry
from wsroute_django.routed_socket_handler import RoutedSocketHandler

__all__ = ["SocketRouter"]

F = TypeVar("F", bound=Callable[..., Any])


class SocketRouter:
    """Collects a page's socket handlers and builds its consumer class.

    ::

        class MyPage(View):
            socket = SocketRouter()

            @socket.route("PING")
            def on_ping(socket, content):
                socket.send_json({"type": "PONG"})

        websocket_urlpatterns = [path("mypage/", MyPage.socket.as_asgi())]

    The functions take the live socket first. Decorators return them unchanged. The
    consumer class, ``MyPage.socket.Handler``, is a subclass of ``handler`` (default
    ``RoutedSocketHandler``) built when the view class is created, so a duplicate route is
    an error at import time.
    """

    def __init__(
        self, handler: type[SocketConsumer] = RoutedSocketHandler, *, emits: Mapping[str, object] | None = None
    ) -> None:
        if not (isinstance(handler, type) and issubclass(handler, SocketConsumer)):
            raise ConfigError(f"SocketRouter(handler=...) needs a RoutedSocketHandler subclass, got {handler!r}")
        self.handler = handler
        #: frames the consumer sends by itself, by name (the consumer class's ``emits``)
        self.emits = dict(emits or {})
        # Checked as each decorator runs, in the class body: errors raised later, from
        # __set_name__, reach Python 3.11 users wrapped in a RuntimeError.
        self._builder = RouteTableBuilder(owner="SocketRouter")
        self._routes: list[RouteEntry] = []
        self._topics: list[TopicEntry] = []
        self._members: dict[str, Callable[..., Any]] = {}
        self._built: type[SocketConsumer] | None = None
        self._name = "SocketRouter"
        self._module = handler.__module__  # the view's module, once the router is named

    def route(self, key: RouteKey, *, schema: object = None) -> Callable[[F], F]:
        """Route frames whose ``type`` is ``key`` (a name, or ``re.compile(...)`` matched in full)."""

        def register(fn: F) -> F:
            self._check_open()
            route = self._builder.add(key, fn, schema=schema)  # reads the signature, once
            self._routes.append((key, route.handler))
            return fn

        return register

    def topic(self, key: TopicKey) -> Callable[[F], F]:
        """Let clients join ``key`` (a name, a ``"room:{id}"`` template or ``re.compile(...)``);
        ``fn(socket, join)`` authorizes each join (raise ``Forbidden``) and may return the
        reply's ``data``."""
        compile_topic(key)

        def register(fn: F) -> F:
            self._check_open()
            HandlerSpec.from_callable(fn)
            self._topics.append((key, fn))
            return fn

        return register

    def presence_meta(self, fn: F) -> F:
        """``fn(socket, topic) -> dict``: the socket's user's presence metadata in ``topic``."""
        return self._member("presence_meta", fn)

    def connect(self, fn: F) -> F:
        """Run ``fn(socket)`` when a socket connects (after the handler's own checks)."""
        return self._member("on_connect", fn)

    def disconnect(self, fn: F) -> F:
        """Run ``fn(socket, code)`` when the socket closes."""
        return self._member("on_disconnect", fn)

    def default_route(self, fn: F) -> F:
        """Route frames no other route matches to ``fn(socket, content)``."""
        return self._member("default_route", fn)

    @property
    def Handler(self) -> type[SocketConsumer]:  # django-channels-router's public name
        """The consumer class."""
        if self._built is None:
            self._built = self._build()
        return self._built

    def as_asgi(self, **initkwargs: Any) -> Any:
        """The ASGI application for ``websocket_urlpatterns``."""
        return self.Handler.as_asgi(**initkwargs)

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = self._builder.owner = f"{owner.__qualname__}.{name}"
        self._module = owner.__module__
        self._built = self._build()

    def __getattr__(self, name: str) -> Any:
        hint = difflib.get_close_matches(
            name, ["route", "topic", "presence_meta", "connect", "disconnect", "default_route", "Handler"], 1
        )
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        raise AttributeError(f"'SocketRouter' has no attribute {name!r}{suggestion}")

    def _member(self, name: str, fn: F) -> F:
        self._check_open()
        if name in self._members:
            raise ConfigError(f"{self._name}: @{name} is declared twice ({self._members[name]!r} and {fn!r})")
        HandlerSpec.from_callable(fn)  # a signature error here, not wrapped by __set_name__ on Python 3.11
        self._members[name] = fn
        return fn

    def _check_open(self) -> None:
        if self._built is not None:
            raise ConfigError(f"{self._name}: routes must be declared before the Handler class is built")

    def _build(self) -> type[SocketConsumer]:
        namespace: dict[str, Any] = {
            "__module__": self._module,
            "__qualname__": f"{self._name}.Handler",
            "routes": (*self.handler.routes, *self._routes),
            "emits": self.emits,
            "topics": (*self.handler.topics, *self._topics),
            **self._members,
        }
        return type("Handler", (self.handler,), namespace)
