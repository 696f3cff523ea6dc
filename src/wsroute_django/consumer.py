"""``SocketConsumer``: the one Channels consumer under both styles.

It keeps the user API (``send_json``, ``close``, group operations, ``user``, ``record``)
and the ASGI lifecycle. Its own receive loop (``__call__``) replaces Channels'
``await_many_dispatch``: the socket is read in the consumer's task, the channel layer by a
pump task that survives a layer outage, and one lock hands them the consumer a message at a
time. Cleanup (disconnect hooks, groups, the Socket row) runs on every exit: a close, an
exception, or the server cancelling the consumer.

Subclasses only say how routes are collected: a ``routes`` table, ``on_<event>`` methods,
or ``SocketRouter`` decorators. The framework's own state lives in private names, so a
handler may set ``self.state`` or ``self.groups`` for itself.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import json
import logging
import random
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, TypeVar

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from django.apps import apps

from wsroute import ConfigError, Dispatcher, Forbidden, Limits, Middleware, Reject, RouteTableBuilder
from wsroute.dispatch import CLOSE_INTERNAL_ERROR, SERVER_ERROR_DETAIL, Connection, as_reply
from wsroute.envelope import splice
from wsroute.errors import UnknownTopic
from wsroute.handlers import HandlerSpec, PreparedHandler, is_async_callable
from wsroute.limits import LogThrottle, clip_log
from wsroute.routing import RouteKey, RouteTable
from wsroute.topics import TopicKey, TopicRoute, TopicSet, TopicTable, TopicTableBuilder, check_topic_name
from wsroute_django import fanout, groups, layer, membership, signals
from wsroute_django.bridge import bridged
from wsroute_django.conf import WsrouteSettings, get_settings
from wsroute_django.metrics import Metrics, get_metrics
from wsroute_django.sending import channel_of
from wsroute_django.topics import TOPIC_ATTRIBUTE
from wsroute_django.workers import run_sync

if TYPE_CHECKING:
    from wsroute_django.models import Socket
    from wsroute_django.row_writer import RowTracker

__all__ = [
    "CLOSE_FLOODING",
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_LOGIN_REQUIRED",
    "CLOSE_REJECTED",
    "SocketConsumer",
    "SocketState",
]

logger = logging.getLogger("wsroute")

CLOSE_LOGIN_REQUIRED: Final = 4401
CLOSE_REJECTED: Final = 4403
CLOSE_FLOODING: Final = 4429

#: ``(key, handler)`` or ``(key, handler, schema)``: a method name, a function, or (from
#: ``SocketRouter``) a ``HandlerSpec`` whose signature was read when it was declared
RouteEntry = (
    tuple[RouteKey, "str | Callable[..., Any] | HandlerSpec"] | tuple[RouteKey, "str | Callable[..., Any]", object]
)
#: ``(topic key, join hook)``: a method name, a function taking ``(socket, join)``, or None (anyone may join)
TopicEntry = tuple[TopicKey, "str | Callable[..., Any] | None"]

# Connection states, as module constants: compared several times per frame.
_CONNECTING: Final = 0  # handshake received, not yet accepted
_OPEN: Final = 1  # accepted; frames flow both ways
_CLOSED: Final = 2  # closed by us or by the client


class SocketState(enum.Enum):
    """The public names of the states (``consumer.state``)."""

    CONNECTING = "connecting"
    OPEN = "open"
    CLOSED = "closed"


_STATES = (SocketState.CONNECTING, SocketState.OPEN, SocketState.CLOSED)

#: consumer settings that default to ``WSROUTE``; ``None`` turns the limit off
DEFAULT: Final[Any] = type("Default", (), {"__repr__": lambda self: "DEFAULT", "__slots__": ()})()

T = TypeVar("T")


class _view(Generic[T]):  # used like @property
    """A read-only attribute that an instance assignment shadows instead of failing, so a
    user's ``self.groups = [...]`` works and the framework's own state (private) is untouched."""

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        return self.fn(obj)


# Cleanup tasks still running after their consumer was cancelled (kept from garbage collection).
_FINISHING: set[asyncio.Task[None]] = set()
#: seconds a layer message being handled at disconnect may take before it is cancelled
_LAYER_HANDLER_GRACE: Final = 5.0
# One line a second for the whole process while the channel layer is down.
_OUTAGE_LOG = LogThrottle("in this process")
# The missing Socket table is said once per process, not once per refused socket.
_missing_table_reported = False


def _check_emits(cls: type) -> None:
    emits = vars(cls).get("emits", {})
    if not isinstance(emits, Mapping) or not all(isinstance(name, str) and name for name in emits):
        raise ConfigError(
            f"{cls.__qualname__}.emits must map frame names (non-empty strings) to schemas, got {emits!r}"
        )


def _prepared(route: TopicRoute[HandlerSpec], dispatcher: Dispatcher) -> TopicRoute[PreparedHandler]:
    """A topic route with its join hook ready to await."""
    hook = dispatcher.prepare(route.hook) if route.hook is not None else None
    return TopicRoute(route.key, hook, route.pattern)


async def _reap(pump: asyncio.Task[None]) -> None:
    """Cancel ``pump`` every half second until it ends (a minute at most)."""
    for _ in range(120):
        pump.cancel()
        await asyncio.wait({pump}, timeout=0.5)
        if pump.done():
            return
    logger.error("a channel-layer pump ignored cancellation for 60 s; left running")


def _is_missing_table(exc: Exception) -> bool:
    from wsroute_django.rows import SocketTableMissing  # rows imports the models: not at import time

    return isinstance(exc, SocketTableMissing)


def _report_missing_table(table: str) -> None:
    global _missing_table_reported
    if _missing_table_reported:
        logger.debug("socket closed with %d: the table %s does not exist", CLOSE_INTERNAL_ERROR, table)
        return
    _missing_table_reported = True
    logger.error(
        "the table %s does not exist, so sockets that keep Socket rows are closed with %d: "
        "run `python manage.py migrate` (or set WSROUTE = {'PERSIST': False} to keep no rows). "
        "Said once per process.",
        table,
        CLOSE_INTERNAL_ERROR,
    )


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
    #: client frames larger than this many UTF-8 bytes get ``too_large`` (None: ``WSROUTE["MAX_MESSAGE_SIZE"]``)
    max_message_size: ClassVar[int | None] = None
    #: flood control for this consumer, e.g. ``"20/s"``; ``None`` turns it off (default: ``WSROUTE["RATE_LIMIT"]``)
    rate_limit: ClassVar[str | None] = DEFAULT
    #: write a ``Socket`` row for each connection (None: ``WSROUTE["PERSIST"]``)
    persist: ClassVar[bool | None] = None
    #: names the client may never route to, whatever else the class defines
    lifecycle_names: ClassVar[frozenset[str]] = frozenset({"on_connect", "on_disconnect"})
    #: frames this consumer sends by itself (not replies), by routing-key value: ``{"message":
    #: ChatMessage}``; the schema (a pydantic model, ``TypedDict`` or dataclass, ``None`` for
    #: any object) describes the frame's other members. Read by ``manage.py wsroute_asyncapi``
    #: and ``wsroute_typescript``; merged with the parents' ``emits``.
    emits: ClassVar[Mapping[str, object]] = {}
    #: ``(key, join hook)`` pairs: topics clients may join (see also ``wsroute_django.topic``)
    topics: ClassVar[tuple[TopicEntry, ...]] = ()
    #: routing-key values of the topic frames: a client's join and leave, the server's
    #: replies to them, and presence diffs
    join_event: ClassVar[str] = "JOIN"
    leave_event: ClassVar[str] = "LEAVE"
    joined_event: ClassVar[str] = "JOINED"
    left_event: ClassVar[str] = "LEFT"
    presence_event: ClassVar[str] = "PRESENCE"

    _dispatcher: ClassVar[Dispatcher]
    _connect_hook: ClassVar[PreparedHandler | None]
    _disconnect_hook: ClassVar[PreparedHandler | None]
    #: layer message type (dots as underscores) -> a layer-event method the user's class defines
    _layer_methods: ClassVar[dict[str, str]]
    _limits_cache: ClassVar[tuple[WsrouteSettings, Limits] | None] = None
    _declared_table: ClassVar[RouteTable[HandlerSpec]]
    _topic_table: ClassVar[TopicTable[PreparedHandler]]
    _presence_meta_hook: ClassVar[PreparedHandler | None]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_emits(cls)
        builder = RouteTableBuilder(owner=cls.__qualname__)
        cls._collect_routes(builder)
        topics: TopicTableBuilder[HandlerSpec] = TopicTableBuilder(owner=cls.__qualname__)
        cls._collect_topics(topics)
        topic_table = topics.build()
        if topic_table:
            builder.add(cls.join_event, SocketConsumer._join_topic)
            builder.add(cls.leave_event, SocketConsumer._leave_topic)
        cls._declared_table = builder.build()
        cls._dispatcher = Dispatcher(
            cls._declared_table,
            key=cls.type_key,
            error_value=cls.error_value,
            middlewares=tuple(cls.middlewares),
            run_sync=run_sync,  # WSROUTE["SYNC_WORKERS"]: asgiref's shared thread, or a pool
            topic_keys=frozenset({cls.join_event, cls.leave_event}) if topic_table else frozenset(),
        )
        cls._topic_table = TopicTable(
            {name: _prepared(route, cls._dispatcher) for name, route in topic_table.exact.items()},
            tuple(_prepared(route, cls._dispatcher) for route in topic_table.patterns),
        )
        meta = getattr(cls, "presence_meta", None)
        cls._presence_meta_hook = (
            cls._dispatcher.prepare(HandlerSpec.from_callable(meta)) if callable(meta) and topic_table else None
        )
        cls._connect_hook = cls._hook("on_connect", takes_code=False)
        cls._disconnect_hook = cls._hook("on_disconnect", takes_code=True)
        routed = {route.handler.fn for route in cls._dispatcher.table}  # validated: never raw from the layer
        cls._layer_methods = layer.reachable_methods(
            cls, reserved=cls.lifecycle_names | {"default_route"}, excluded=routed
        )
        cls._limits_cache = None

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
    def _collect_topics(cls, builder: TopicTableBuilder[HandlerSpec]) -> None:
        """The ``topics`` table, then methods marked with ``@topic``; later entries override a parent's."""
        inherited = {entry for base in cls.__mro__[1:] for entry in vars(base).get("topics", ())}
        for entry in cls.topics:
            if not isinstance(entry, tuple) or len(entry) != 2:
                raise ConfigError(f"{cls.__qualname__}.topics: expected (key, join hook or None), got {entry!r}")
            key, target = entry
            hook = None if target is None else cls._resolve(target)
            builder.add(key, cls._topic_hook(hook, key), overridable=entry in inherited)
        for name in dir(cls):
            method = getattr(cls, name, None)
            for key in getattr(method, TOPIC_ATTRIBUTE, ()):
                assert method is not None
                builder.add(key, cls._topic_hook(method, key), overridable=True)

    @classmethod
    def _topic_hook(cls, hook: Callable[..., Any] | HandlerSpec | None, key: TopicKey) -> HandlerSpec | None:
        if hook is None:
            return None
        spec = hook if isinstance(hook, HandlerSpec) else HandlerSpec.from_callable(hook)
        if spec.validator is not None or spec.takes_match:
            raise ConfigError(
                f"{cls.__qualname__}: the join hook {spec.name} of topic {key!r} must take (socket) or (socket, join)"
            )
        return spec

    @classmethod
    def _resolve(cls, target: str | Callable[..., Any] | HandlerSpec) -> Callable[..., Any] | HandlerSpec:
        if callable(target) or isinstance(target, HandlerSpec):
            return target
        if target in cls.lifecycle_names:
            raise ConfigError(f"{cls.__qualname__}.routes: {target!r} is a lifecycle hook and cannot be routed")
        fn = getattr(cls, target, None) if isinstance(target, str) else None
        if not callable(fn):
            raise ConfigError(f"{cls.__qualname__}.routes names {target!r}, but the class has no such method")
        return fn  # type: ignore[no-any-return]

    @classmethod
    def _hook(cls, name: str, takes_code: bool) -> PreparedHandler | None:
        fn = getattr(cls, name, None)
        if fn is None:
            return None
        spec = HandlerSpec.for_hook(fn, owner=cls.__qualname__, hook=name, takes_code=takes_code)
        return cls._dispatcher.prepare(spec)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._state = _CONNECTING
        self._groups: set[str] = set()
        self._rows: RowTracker | None = None
        self._connection: Connection | None = None
        self._turn = asyncio.Lock()  # one message at a time, from the socket or the layer
        self._pump: asyncio.Task[None] | None = None
        self._close_code = 1006
        self._finished = False
        self._layer_log = LogThrottle()
        self._metrics: Metrics | None = None
        self._inbox: deque[Mapping[str, Any]] = deque()  # layer messages handed over in memory
        self._draining: asyncio.Task[None] | None = None
        self._in_inbox = False
        self._topics: TopicSet | None = None

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

    @_view
    def record(self) -> Socket | None:
        """This connection's ``Socket`` row (None when persistence is off)."""
        return self._rows.record if self._rows is not None else None

    @_view
    def groups(self) -> frozenset[str]:
        """The groups this socket is in (join with ``group_add``)."""
        return frozenset(self._groups)

    @_view
    def state(self) -> SocketState:
        """Where the connection is: connecting, open or closed."""
        return _STATES[self._state]

    @bridged
    async def accept(self, subprotocol: str | None = None) -> None:
        """Accept the handshake. Done for you when the connect hook returns without closing."""
        if self._state == _CONNECTING:
            self._state = _OPEN
            await self.base_send({"type": "websocket.accept", "subprotocol": subprotocol})
            if self._metrics is not None:
                self._metrics.connection_opened()

    @bridged
    async def send_json(self, content: Mapping[str, Any]) -> None:
        """Send one JSON object to this socket, through the ``on_send`` middleware.

        Raises ``wsroute.FrameNotSent`` for an object JSON cannot carry (NaN, inf) or one
        larger than ``WSROUTE["MAX_SEND_SIZE"]``."""
        await self._conn.send(dict(content))

    @bridged
    async def close(self, code: int | None = None) -> None:
        """Close the socket. Before the handshake is accepted it is accepted first, so the
        browser sees ``code`` rather than a bare HTTP 403. The default code is 1000, or
        4403 (rejected) when closing from the connect hook, before accept."""
        if code is None:
            code = CLOSE_REJECTED if self._state == _CONNECTING else 1000
        await self.close_socket(code)

    @bridged
    async def group_add(self, group: str) -> None:
        """Join ``group``. Every group is left when the socket disconnects."""
        await self._layer().group_add(groups.check_group_name(group), self.channel_name)
        if group not in self._groups:
            self._groups.add(group)
            if self._rows is not None:
                await self._rows.join(group)
            await signals.emit(signals.group_joined, type(self), socket=self, group=group)

    @bridged
    async def group_discard(self, group: str) -> None:
        await self._layer().group_discard(groups.check_group_name(group), self.channel_name)
        if group in self._groups:
            self._groups.discard(group)
            if self._rows is not None:
                await self._rows.leave(group)
            await signals.emit(signals.group_left, type(self), socket=self, group=group)

    @bridged
    async def group_send(
        self,
        group: str,
        event: str,
        payload: Mapping[str, Any] | None = None,
        *,
        exclude: Any = None,
        exclude_self: bool = False,
    ) -> None:
        """Send ``{<routing key>: event, **payload}`` to every socket in ``group``, except
        ``exclude`` (a socket, its ``Socket`` row or its channel name) or, with
        ``exclude_self=True``, this socket."""
        skip = self.channel_name if exclude_self else channel_of(exclude)
        await self._layer().group_send(groups.check_group_name(group), layer.deliver(event, payload, exclude=skip))

    @bridged
    async def group_call_event(self, group: str, event: str, payload: Mapping[str, Any] | None = None) -> None:
        """Run the route for ``event`` in every consumer of ``group``, server-side only."""
        await self._layer().group_send(groups.check_group_name(group), layer.call(event, payload))

    @_view
    def joined_topics(self) -> frozenset[str]:
        """The topics this socket joined."""
        return frozenset(self._topics or ())

    @bridged
    async def broadcast(
        self,
        topic: str,
        event: str,
        payload: Mapping[str, Any] | None = None,
        *,
        exclude: Any = None,
        exclude_self: bool = False,
    ) -> None:
        """Send ``{<routing key>: event, "topic": topic, **payload}`` to every socket that
        joined ``topic``, except ``exclude`` or, with ``exclude_self=True``, this socket."""
        skip = self.channel_name if exclude_self else channel_of(exclude)
        message = layer.deliver(event, payload, exclude=skip, topic=check_topic_name(topic))
        await self._layer().group_send(membership.topic_group(topic), message)

    async def presence_meta(self, topic: str) -> dict[str, Any]:
        """The presence metadata of this socket's user in ``topic``, sent to the topic's
        members when the user's first socket joins it. Override to add a name, an avatar..."""
        return {}

    async def _join_topic(self, content: dict[str, Any]) -> dict[str, Any]:
        """The route for ``{<key>: "JOIN", "topic": ...}``: authorize, join, reply with the presence."""
        name = check_topic_name(content.get("topic"))
        resolved = self._topic_table.resolve(name)
        if resolved is None:
            raise UnknownTopic(f"no topic {name!r} here")
        route, match = resolved
        topics = self._topics
        if topics is None:
            topics = self._topics = TopicSet(get_settings().MAX_TOPICS)
            self._conn.topics = topics
        topics.check_can_join(name)
        data: Any = None
        if route.hook is not None:
            join = self._topic_table.join(route, name, match, content)
            try:
                data = await self._conn.call(route.hook, *((join,) if route.hook.takes_content else ()))
            except Reject as exc:
                raise Forbidden(str(exc)) from None
        reply: dict[str, Any] = {self.type_key: self.joined_event, "topic": name}
        if data is not None:
            reply["data"] = as_reply(data, route.hook.name if route.hook else name)
        group = membership.topic_group(name)
        await self._layer().group_add(group, self.channel_name)
        topics.add(name)
        try:
            if self._rows is not None and self._rows.record is not None:
                reply["presence"] = await self._rows.join_topic(name, self._presence_key(), await self._meta(name))
        except asyncio.CancelledError:
            # The socket is closing, and the membership may be written all the same (the write
            # runs on in its thread): the topic stays in ``topics``, so the cleanup leaves it and
            # announces the leave, instead of the row's delete dropping it without a diff.
            raise
        except BaseException:
            topics.remove(name)
            await self._layer().group_discard(group, self.channel_name)
            raise
        return reply

    async def _leave_topic(self, content: dict[str, Any]) -> dict[str, Any]:
        """The route for ``{<key>: "LEAVE", "topic": ...}``."""
        name = check_topic_name(content.get("topic"))
        if self._topics is None:
            self._topics = self._conn.topics = TopicSet(get_settings().MAX_TOPICS)
        self._topics.remove(name)  # NotJoined
        await self._leave_topics([name])
        return {self.type_key: self.left_event, "topic": name}

    async def _leave_topics(self, names: list[str]) -> None:
        for name in names:
            try:
                await self._layer().group_discard(membership.topic_group(name), self.channel_name)
            except Exception:
                logger.exception("%r could not leave the layer group of topic %s", self, name)
        if self._rows is not None:
            await self._rows.leave_topics(names)

    def _presence_key(self) -> str:
        record = self._rows.record if self._rows is not None else None
        user = self.user
        user_id = user.pk if getattr(user, "is_authenticated", False) else None
        return membership.presence_key(user_id, record.pk if record is not None else 0)

    async def _meta(self, topic: str) -> Any:
        hook = self._presence_meta_hook
        meta = {} if hook is None else await self._conn.call(hook, *((topic,) if hook.takes_content else ()))
        if not isinstance(meta, dict):
            raise TypeError(f"{hook.name if hook else 'presence_meta'} returned {type(meta).__name__}; return a dict")
        return meta

    @classmethod
    def route_keys(cls) -> Iterator[RouteKey | None]:
        """The routing keys this consumer answers, in resolution order (``None``: default route)."""
        for route in cls._dispatcher.table:
            yield route.key

    @classmethod
    def route_table(cls) -> RouteTable[HandlerSpec]:
        """The consumer's routes as declared: each handler with its schema and return annotation."""
        return cls._declared_table

    @classmethod
    def emitted_frames(cls) -> dict[str, object]:
        """``emits`` of this class merged over its parents' (a subclass's entry wins)."""
        merged: dict[str, object] = {}
        for base in reversed(cls.__mro__):
            merged.update(vars(base).get("emits", {}))
        return merged

    # -- the core's Transport ---------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        if self._state == _CONNECTING:
            await self.accept()
        if self._state == _CLOSED:
            logger.debug("dropping a frame sent after the socket closed: %s", clip_log(text))
            return
        await self.base_send({"type": "websocket.send", "text": text})

    async def close_socket(self, code: int, reason: str = "") -> None:
        """Close with ``code`` (accepting first, so browsers see it). Sends nothing if closed."""
        if self._state == _CLOSED:
            return
        if self._state == _CONNECTING:
            await self.accept()
        self._state = _CLOSED
        message: dict[str, Any] = {"type": "websocket.close", "code": code}
        if reason:
            message["reason"] = reason.encode()[:123].decode(errors="ignore")
        await self.base_send(message)

    # -- the receive loop -------------------------------------------------------------------

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
        try:
            await self._run(receive)
        except StopConsumer:
            pass
        finally:
            # Shielded: a server that cancels the consumer (daphne does, 10 s after a client
            # left mid-handshake) must not leave a row, a group membership or a hook unrun.
            task = asyncio.ensure_future(self._finish())
            _FINISHING.add(task)
            task.add_done_callback(_FINISHING.discard)
            await asyncio.shield(task)

    async def _run(self, receive: Callable[[], Any]) -> None:
        turn = self._turn
        while True:
            message = await receive()
            kind = message.get("type")
            if kind == "websocket.receive":
                if self._state == _CLOSED:
                    continue  # raced our close (login required, a rejection, flooding)
                async with turn:
                    try:
                        await self._conn.receive(message.get("text"), message.get("bytes"))
                    except Exception:
                        logger.exception("%r failed to handle a frame", self)
            elif kind == "websocket.connect":
                async with turn:
                    await self._connect()
                if self.channel_layer is not None and self._state != _CLOSED:
                    self._pump = asyncio.ensure_future(self._pump_layer())
            elif kind == "websocket.disconnect":
                self._close_code = message.get("code", 1006)
                return
            else:
                logger.warning("%r got an ASGI message of unknown type %s; ignored", self, clip_log(kind))

    async def _connect(self) -> None:
        try:
            limits = self._limits_for(get_settings())
            self._metrics = get_metrics()
            if self.login_required and not getattr(self.user, "is_authenticated", False):
                # No connection yet: the socket never got in, so no hook or middleware runs for it.
                logger.info("anonymous socket on %s closed: login required", clip_log(self.path))
                await self.close_socket(CLOSE_LOGIN_REQUIRED, "login required")
                return
            self._connection = self._dispatcher.connect(self, self, limits, self._metrics)  # middleware __init__ here
            if self._persists():
                from wsroute_django.row_writer import RowTracker

                self._rows = RowTracker(self.channel_name)
                fanout.inbox.add(self)  # before the row exists: a sender that reads it finds us
                self._in_inbox = True
                await self._rows.open(self.scope)
            await signals.emit(signals.socket_connected, type(self), socket=self)
        except Exception as exc:
            if self._rows is not None and _is_missing_table(exc):
                _report_missing_table(str(exc))
                await self.close_socket(CLOSE_INTERNAL_ERROR, SERVER_ERROR_DETAIL)
                return
            logger.exception("%r could not be set up; closing with %d", self, CLOSE_INTERNAL_ERROR)
            await self.close_socket(CLOSE_INTERNAL_ERROR, SERVER_ERROR_DETAIL)
            return
        if await self._connection.open(self._connect_hook) and self._state == _CONNECTING:
            await self.accept()

    async def _pump_layer(self) -> None:
        """Feed channel-layer messages to the consumer; outlive a layer outage."""
        channel_layer, name = self.channel_layer, self.channel_name
        failures = 0
        while not self._finished:
            try:
                if failures and self._groups:
                    for group in list(self._groups):  # a restarted Redis forgot them
                        await channel_layer.group_add(group, name)
                message = await channel_layer.receive(name)
            except Exception as exc:
                failures += 1
                if self._metrics is not None:
                    self._metrics.layer_errors.inc()
                _OUTAGE_LOG.log(
                    logger,
                    logging.WARNING,
                    "channel layer unavailable (%s: %s); retrying",
                    type(exc).__name__,
                    clip_log(str(exc)),
                )
                await asyncio.sleep(min(2.0, 0.05 * 2**failures) * random.uniform(0.5, 1.0))
                continue
            if failures:
                logger.info("%r: channel layer back after %d failed attempt(s)", self, failures)
                failures = 0
            async with self._turn:
                if self._finished:  # a receive that outlived its cancellation: the socket is gone
                    return
                try:
                    await self._layer_message(message)
                except Exception:
                    logger.exception("%r failed to handle a channel-layer message", self)

    def deliver_local(self, message: Mapping[str, Any]) -> None:
        """Handle a layer message this process received for this socket (see ``fanout``),
        after any handed over before it, as if it came through the socket's own channel."""
        if self._finished:
            return
        self._inbox.append(message)
        if self._draining is None:
            self._draining = asyncio.ensure_future(self._drain_inbox())

    async def _drain_inbox(self) -> None:
        try:
            while self._inbox:
                message = self._inbox.popleft()
                async with self._turn:
                    if self._finished:
                        self._inbox.clear()
                        return
                    try:
                        await self._layer_message(message)
                    except Exception:
                        logger.exception("%r failed to handle a channel-layer message", self)
        finally:
            self._draining = None

    async def _layer_message(self, message: Mapping[str, Any]) -> None:
        kind = message.get("type")
        if kind in layer.TYPES:
            if layer.excluded(message, self.channel_name):
                return
            topic = message.get("topic")
            if topic is not None and (not isinstance(topic, str) or self._topics is None or topic not in self._topics):
                return  # sent to a topic this socket left since (or a hostile message)
            parsed = layer.read(message)
            if parsed is None:
                logger.warning("%r got a malformed %s layer message; ignored", self, kind)
            elif self._connection is not None:
                await self._wsroute_message(*parsed)
            return
        # A Channels-style layer-event method the user's class defines (``def chat_message``).
        name = self._layer_methods.get(kind.replace(".", "_")) if isinstance(kind, str) else None
        if name is None:
            self._layer_log.log(
                logger,
                logging.WARNING,
                "%r got a channel-layer message of unknown type %s; ignored",
                self,
                clip_log(kind),
            )
            return
        method = getattr(self, name)
        await (method(message) if is_async_callable(method) else run_sync(method)(message))

    async def _wsroute_message(self, kind: str, first: Any, second: Any) -> None:
        connection = self._conn
        if kind == layer.DELIVER:
            if isinstance(second, str):  # the sender encoded it once for every receiver
                spliced = splice(self.type_key, first, second)
                if spliced:
                    await connection.send_encoded(spliced)
                    return
                second = json.loads(second)
            await connection.send({self.type_key: first, **second})
        elif kind == layer.PRESENCE:
            spliced = splice(self.type_key, self.presence_event, second)
            await (connection.send_encoded(spliced) if spliced else connection.send(json.loads(second)))
        elif kind == layer.CALL:
            await connection.run_event(first, {self.type_key: first, **second})
        elif kind == layer.SEND:
            await (connection.send_encoded(first) if isinstance(first, str) else connection.send(first))
        else:
            await self.close_socket(first)

    async def _finish(self) -> None:
        """Everything a connection leaves behind, undone once, each step whatever the others did."""
        if self._finished:
            return
        self._finished = True
        was_open = self._state != _CONNECTING  # accepted at some point (closed ones were accepted first)
        self._state = _CLOSED
        code = self._close_code
        if self._in_inbox:
            fanout.inbox.remove(self)
        if self._metrics is not None:
            self._metrics.connection_closed(code, was_open)
        if self._pump is not None:
            await self._stop_pump(self._pump)
        if self._connection is not None:
            await self._connection.close(code, self._disconnect_hook)
        if self._topics:
            names = list(self._topics)
            self._topics = None
            try:
                await self._leave_topics(names)
            except Exception:
                logger.exception("%r could not leave its topics on disconnect", self)
        for group in list(self._groups):
            try:
                await self._layer().group_discard(group, self.channel_name)
            except Exception:
                # e.g. channels-redis "Too many connections": the row must still go
                logger.exception("%r could not leave group %s on disconnect", self, group)
            await signals.emit(signals.group_left, type(self), socket=self, group=group)
        self._groups.clear()
        if self._rows is not None:
            try:
                await self._rows.close()
            except Exception:
                logger.exception("%r could not delete its Socket row", self)
        if self._connection is not None:
            await signals.emit(signals.socket_disconnected, type(self), socket=self, code=code)

    async def _stop_pump(self, pump: asyncio.Task[None]) -> None:
        """Let a layer message being handled finish (a few seconds at most), then stop the pump."""
        try:
            await asyncio.wait_for(self._turn.acquire(), _LAYER_HANDLER_GRACE)
        except TimeoutError:
            logger.warning("%r: a channel-layer handler still running at disconnect was cancelled", self)
            pump.cancel()
        else:
            pump.cancel()
            self._turn.release()
        await asyncio.wait({pump}, timeout=0.05)
        if not pump.done():
            # The layer's receive swallowed the cancellation (redis-py on Python 3.11 can):
            # cleanup goes on, and the pump is asked again until it stops.
            reaper = asyncio.ensure_future(_reap(pump))
            _FINISHING.add(reaper)
            reaper.add_done_callback(_FINISHING.discard)

    # -- helpers ----------------------------------------------------------------------------

    @property
    def _conn(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the socket is not connected yet; send from a handler or hook")
        return self._connection

    @classmethod
    def _limits_for(cls, settings: WsrouteSettings) -> Limits:
        """This class's limits under ``settings`` (cached until the settings change)."""
        cached = cls._limits_cache
        if cached is not None and cached[0] is settings:
            return cached[1]
        rate = settings.RATE_LIMIT if cls.rate_limit is DEFAULT else cls.rate_limit
        limits = Limits(
            max_message_size=cls.max_message_size if cls.max_message_size is not None else settings.MAX_MESSAGE_SIZE,
            max_send_size=settings.MAX_SEND_SIZE,
            rate=rate,
            burst=settings.RATE_LIMIT_BURST if cls.rate_limit is DEFAULT else None,
            error_limit=settings.ERROR_LIMIT,
        )
        cls._limits_cache = (settings, limits)
        return limits

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
                "(wsroute_django.memory_layer.MemoryChannelLayer for one process, channels_redis for several)"
            )
        return self.channel_layer

    def __repr__(self) -> str:
        path = clip_log(self.scope.get("path", "?")) if hasattr(self, "scope") else "?"
        return f"<{type(self).__qualname__} {path} {_STATES[self._state].value}>"
