"""``SocketConsumer``: the one Channels consumer under both styles.

It owns the connection lifecycle (connect, accept, reject after accept, disconnect, leaving
groups) and hands every frame to the core dispatcher. Subclasses only say how routes are
collected: a ``routes`` table, ``on_<event>`` methods, or ``SocketRouter`` decorators.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from channels.consumer import AsyncConsumer, get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from django.apps import apps

from wsroute import ConfigError, Connection, Dispatcher, HandlerSpec, Middleware, RouteTableBuilder
from wsroute.handlers import is_async_callable
from wsroute.routing import RouteKey
from wsroute_django import groups, signals
from wsroute_django.bridge import bridged
from wsroute_django.conf import get_settings

if TYPE_CHECKING:
    from wsroute_django.models import Socket

__all__ = ["CLOSE_LOGIN_REQUIRED", "CLOSE_REJECTED", "SocketConsumer", "SocketState"]

logger = logging.getLogger("wsroute")

CLOSE_LOGIN_REQUIRED = 4401
CLOSE_REJECTED = 4403

RouteEntry = tuple[RouteKey, "str | Callable[..., Any]"] | tuple[RouteKey, "str | Callable[..., Any]", object]


class SocketState(enum.Enum):
    CONNECTING = "connecting"  # handshake received, not yet accepted
    OPEN = "open"  # accepted; frames flow both ways
    CLOSED = "closed"  # closed by us or by the client


class SocketConsumer(AsyncConsumer):  # type: ignore[misc]  # channels ships no type hints
    """Base of every wsroute consumer. Use ``RoutedSocketHandler``, ``JSONWebSocket`` or ``SocketRouter``."""

    #: the key of a client frame that names its route
    type_key: ClassVar[str] = "type"
    #: the routing-key value of error frames
    error_value: ClassVar[str] = "ERROR"
    #: ``(key, handler)`` or ``(key, handler, schema)``; key is a name or ``re.compile(...)``,
    #: handler a method name or a function taking ``(socket, content)``
    routes: ClassVar[tuple[RouteEntry, ...]] = ()
    #: middleware classes, run in list order (send and disconnect in reverse)
    middlewares: ClassVar[tuple[type[Middleware], ...] | list[type[Middleware]]] = ()
    #: close anonymous sockets with 4401
    login_required: ClassVar[bool] = False
    #: frames longer than this many characters get a ``too_large`` error (None: no limit)
    max_message_size: ClassVar[int | None] = None  # None: WSROUTE["MAX_MESSAGE_SIZE"]
    #: write a ``Socket`` row for each connection (None: ``WSROUTE["PERSIST"]``)
    persist: ClassVar[bool | None] = None
    #: names the client may never route to, whatever else the class defines
    lifecycle_names: ClassVar[frozenset[str]] = frozenset({"on_connect", "on_disconnect"})

    dispatcher: ClassVar[Dispatcher]
    _connect_hook: ClassVar[HandlerSpec | None]
    _disconnect_hook: ClassVar[HandlerSpec | None]
    _settings_read: ClassVar[bool]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        builder = RouteTableBuilder(owner=cls.__qualname__)
        cls._collect_routes(builder)
        cls.dispatcher = Dispatcher(
            builder.build(),
            key=cls.type_key,
            error_value=cls.error_value,
            middlewares=tuple(cls.middlewares),
            run_sync=database_sync_to_async,
            max_message_size=cls.max_message_size,
        )
        cls._settings_read = False
        cls._connect_hook = cls._hook("on_connect")
        cls._disconnect_hook = cls._hook("on_disconnect")

    @classmethod
    def _collect_routes(cls, builder: RouteTableBuilder) -> None:
        """Add the ``routes`` table; entries a parent declared may be overridden by later ones."""
        inherited = {entry for base in cls.__mro__[1:] for entry in vars(base).get("routes", ())}
        for entry in cls.routes:
            if not isinstance(entry, tuple) or len(entry) not in (2, 3):
                raise ConfigError(f"{cls.__qualname__}.routes: expected (key, handler[, schema]), got {entry!r}")
            key, target, *schema = entry
            builder.add(key, cls._resolve(target), schema=schema[0] if schema else None, overridable=entry in inherited)
        default = getattr(cls, "default_route", None)
        if default is not None:
            builder.set_default(default)

    @classmethod
    def _resolve(cls, target: str | Callable[..., Any]) -> Callable[..., Any]:
        if callable(target):
            return target
        if target in cls.lifecycle_names:
            raise ConfigError(f"{cls.__qualname__}.routes: {target!r} is a lifecycle hook and cannot be routed")
        fn = getattr(cls, target, None) if isinstance(target, str) else None
        if not callable(fn):
            raise ConfigError(f"{cls.__qualname__}.routes names {target!r}, but the class has no such method")
        return fn  # type: ignore[no-any-return]

    @classmethod
    def _hook(cls, name: str) -> HandlerSpec | None:
        fn = getattr(cls, name, None)
        return None if fn is None else cls.dispatcher.prepare(HandlerSpec.from_callable(fn))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state = SocketState.CONNECTING
        self.groups: set[str] = set()
        #: this connection's ``Socket`` row (None when persistence is off)
        self.record: Socket | None = None
        self._row_dropped = False
        self._joined_groups = False
        self._connection: Connection | None = None

    # -- what handlers see -------------------------------------------------------------

    @property
    def user(self) -> Any:
        """``scope["user"]`` (set by ``AuthMiddlewareStack``), or ``None``."""
        return self.scope.get("user")

    @property
    def session(self) -> Any:
        """``scope["session"]`` (set by ``SessionMiddlewareStack``), or ``None``."""
        return self.scope.get("session")

    @property
    def path(self) -> str:
        return str(self.scope.get("path", ""))

    @bridged
    async def accept(self, subprotocol: str | None = None) -> None:
        """Accept the handshake. Done for you when the connect hook returns without closing."""
        if self.state is SocketState.CONNECTING:
            self.state = SocketState.OPEN
            await self.base_send({"type": "websocket.accept", "subprotocol": subprotocol})

    @bridged
    async def send_json(self, content: Mapping[str, Any]) -> None:
        """Send one JSON object to this socket, through the ``on_send`` middleware."""
        await self._conn.send(dict(content))

    @bridged
    async def close(self, code: int | None = None) -> None:
        """Close the socket. Before the handshake is accepted it is accepted first, so the
        browser sees ``code`` rather than a bare HTTP 403. The default code is 1000, or
        4403 (rejected) when closing from the connect hook, before accept."""
        if code is None:
            code = CLOSE_REJECTED if self.state is SocketState.CONNECTING else 1000
        await self.close_socket(code)

    @bridged
    async def group_add(self, group: str) -> None:
        """Join ``group``. Every group is left when the socket disconnects."""
        await self._layer().group_add(groups.check_group_name(group), self.channel_name)
        if group not in self.groups:
            self.groups.add(group)
            if self.record is not None:
                self._joined_groups = True
                await database_sync_to_async(_presence().join_group)(self.record.pk, group)
            await signals.emit(signals.group_joined, type(self), socket=self, group=group)

    @bridged
    async def group_discard(self, group: str) -> None:
        await self._layer().group_discard(groups.check_group_name(group), self.channel_name)
        if group in self.groups:
            self.groups.discard(group)
            if self.record is not None:
                await database_sync_to_async(_presence().leave_group)(self.record.pk, group)
            await signals.emit(signals.group_left, type(self), socket=self, group=group)

    @bridged
    async def group_send(self, group: str, event: str, payload: Mapping[str, Any] | None = None) -> None:
        """Send ``{<routing key>: event, **payload}`` to every socket in ``group``."""
        message = {"type": groups.DELIVER, "event": event, "payload": dict(payload or {})}
        await self._layer().group_send(groups.check_group_name(group), message)

    @bridged
    async def group_call_event(self, group: str, event: str, payload: Mapping[str, Any] | None = None) -> None:
        """Run the route for ``event`` in every consumer of ``group``, server-side only."""
        message = {"type": groups.CALL, "event": event, "payload": dict(payload or {})}
        await self._layer().group_send(groups.check_group_name(group), message)

    # -- the core's Transport ---------------------------------------------------------------

    async def transmit(self, frame: Mapping[str, Any]) -> None:
        if self.state is SocketState.CONNECTING:
            await self.accept()
        if self.state is SocketState.CLOSED:
            logger.debug("dropping a frame sent after the socket closed: %.200r", frame)
            return
        await self.base_send({"type": "websocket.send", "text": json.dumps(frame, allow_nan=False)})

    async def close_socket(self, code: int) -> None:
        if self.state is SocketState.CLOSED:
            return
        if self.state is SocketState.CONNECTING:
            await self.accept()
        self.state = SocketState.CLOSED
        await self.base_send({"type": "websocket.close", "code": code})

    # -- ASGI and channel-layer messages ----------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch makes a thread hop (closing old DB connections) before every
        # message. wsroute's sync handlers already get that cleanup from database_sync_to_async,
        # so async handlers skip it. Unknown layer types are logged, never fatal.
        name = _HANDLERS.get(message.get("type"))  # type: ignore[arg-type]
        if name is not None:
            await getattr(self, name)(message)
            return
        try:
            handler_name = get_handler_name(message)
        except ValueError:
            handler_name = ""
        fallback = None if handler_name in self.lifecycle_names else getattr(self, handler_name, None)
        if not callable(fallback):  # missing, or an attribute such as ``state``
            logger.warning("%s got a channel-layer message of unknown type %r; ignored", self, message.get("type"))
            return
        # A Channels-style layer handler (``def chat_message(self, message)``), sync or async.
        await (fallback(message) if is_async_callable(fallback) else database_sync_to_async(fallback)(message))

    @classmethod
    def _read_settings(cls) -> None:
        # Settings are read at the first connection, not at class creation, so consumer
        # modules import before Django is configured.
        if cls.max_message_size is None:
            cls.dispatcher.max_message_size = get_settings().MAX_MESSAGE_SIZE
        cls._settings_read = True

    async def websocket_connect(self, message: Mapping[str, Any]) -> None:
        if not self._settings_read:
            self._read_settings()
        if self.login_required and not getattr(self.user, "is_authenticated", False):
            # No connection yet: the socket never got in, so no hook or middleware runs for it.
            logger.info("anonymous socket on %s closed: login required", self.path)
            await self.close_socket(CLOSE_LOGIN_REQUIRED)
            return
        self._connection = self.dispatcher.connect(self, self)
        if self._persists():
            self.record = await database_sync_to_async(_presence().open_row)(self.scope, self.channel_name)
            _presence().heartbeat.retain()
        await signals.emit(signals.socket_connected, type(self), socket=self)
        if await self._connection.open(self._connect_hook) and self.state is SocketState.CONNECTING:
            await self.accept()

    async def websocket_receive(self, message: Mapping[str, Any]) -> None:
        if self.state is SocketState.CLOSED:
            # A frame that raced our close (login required, a rejection): no handler sees it.
            logger.debug("dropping a frame received after the socket was closed")
            return
        await self._conn.receive(message.get("text"), message.get("bytes"))

    async def websocket_disconnect(self, message: Mapping[str, Any]) -> None:
        self.state = SocketState.CLOSED
        code = message.get("code", 1006)
        if self._connection is not None:
            await self._connection.close(code, self._disconnect_hook)
        for group in list(self.groups):
            try:
                await self._layer().group_discard(group, self.channel_name)
            except Exception:
                # e.g. channels-redis "Too many connections": the row must still go, or this
                # process's heartbeat keeps a dead socket's row fresh for as long as it runs
                logger.exception("%s could not leave group %r on disconnect", self, group)
            await signals.emit(signals.group_left, type(self), socket=self, group=group)
        self.groups.clear()
        await self._drop_row()
        if self._connection is not None:
            await signals.emit(signals.socket_disconnected, type(self), socket=self, code=code)
        raise StopConsumer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            # Died without a websocket.disconnect (e.g. the channel layer's receive raised;
            # the server then closes the socket with 1011): drop the row here, or this
            # process's heartbeat keeps a dead socket's row fresh for as long as it runs.
            await self._drop_row()
            raise

    async def _drop_row(self) -> None:
        if self.record is not None and not self._row_dropped:
            self._row_dropped = True
            try:
                await database_sync_to_async(_presence().close_row)(self.record.pk, self._joined_groups)
            finally:
                _presence().heartbeat.release()

    async def _on_deliver(self, message: Mapping[str, Any]) -> None:
        await self._conn.send({self.type_key: message["event"], **message["payload"]})

    async def _on_call(self, message: Mapping[str, Any]) -> None:
        await self._conn.run_event(message["event"], {self.type_key: message["event"], **message["payload"]})

    async def _on_send(self, message: Mapping[str, Any]) -> None:
        await self._conn.send(message["frame"])

    async def _on_close(self, message: Mapping[str, Any]) -> None:
        await self.close_socket(message.get("code", 1000))

    # -- helpers ----------------------------------------------------------------------------

    @property
    def _conn(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the socket is not connected yet; send from a handler or hook")
        return self._connection

    def _persists(self) -> bool:
        wanted = get_settings().PERSIST if self.persist is None else self.persist
        if wanted and self.channel_layer is None:
            # A row is only useful with a channel name to send to, and Channels gives a
            # consumer one only under a channel layer (check wsroute.W002 says so at startup).
            return False
        return wanted and apps.is_installed("wsroute_django")

    def _layer(self) -> Any:
        if self.channel_layer is None:
            raise RuntimeError(
                "groups need a channel layer: set CHANNEL_LAYERS in settings "
                "(channels.layers.InMemoryChannelLayer for one process, channels_redis for several)"
            )
        return self.channel_layer

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} {self.path or '?'} {self.state.value}>"

    @classmethod
    def route_keys(cls) -> Iterator[RouteKey | None]:
        """The routing keys this consumer answers, in resolution order (``None``: default route)."""
        for route in cls.dispatcher.table:
            yield route.key


def _presence() -> Any:
    # Imported on first use: it needs the app registry, and this module must not.
    from wsroute_django import presence

    return presence


# Fixed ASGI and wsroute layer types -> method names; the only getattr a message can steer.
_HANDLERS: dict[str, str] = {
    "websocket.connect": "websocket_connect",
    "websocket.receive": "websocket_receive",
    "websocket.disconnect": "websocket_disconnect",
    groups.DELIVER: "_on_deliver",
    groups.CALL: "_on_call",
    groups.SEND: "_on_send",
    groups.CLOSE: "_on_close",
}
