"""The one async path every frame takes, whatever style the consumer is written in.

``Dispatcher`` holds what is fixed for a consumer class (its route table, middleware
pipeline, routing key, sync runner). ``Dispatcher.connect`` gives a ``Connection`` for one
live socket; its ``receive`` does decode -> middleware -> resolve -> validate -> call ->
reply, and turns every failure into an error frame. It never raises for bad input.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel

from wsroute import limits as flood
from wsroute.envelope import dump, error_frame, parse, utf8_size, with_ref
from wsroute.errors import BadMessage, FrameNotSent, MessageError, Reject, TooLarge, UnknownType
from wsroute.handlers import HandlerSpec, PreparedHandler
from wsroute.limits import CLOSE_FLOODING, FloodGuard, Limits, LogThrottle, clip_log
from wsroute.middleware import DROP, Middleware, MiddlewareChain, Pipeline
from wsroute.routing import RouteTable
from wsroute.topics import TopicSet
from wsroute.types import Content, ErrorCode, Observer, Ref, SyncRunner, Transport

__all__ = ["CLOSE_INTERNAL_ERROR", "Connection", "Dispatcher", "thread_runner"]

logger = logging.getLogger("wsroute")

#: Close code for a connect hook or middleware that raised. Not RFC 6455's 1011: daphne's
#: WebSocket library lets an application send only 1000 and 3000-4999.
CLOSE_INTERNAL_ERROR = 4500
SERVER_ERROR_DETAIL = "internal server error"
#: error codes that count toward a socket's error budget (``Limits.error_limit``)
_CLIENT_FAULTS = frozenset(
    {
        ErrorCode.BAD_JSON,
        ErrorCode.BAD_MESSAGE,
        ErrorCode.UNKNOWN_TYPE,
        ErrorCode.VALIDATION_ERROR,
        ErrorCode.TOO_LARGE,
        ErrorCode.RATE_LIMITED,
        ErrorCode.UNKNOWN_TOPIC,
        ErrorCode.ALREADY_JOINED,
        ErrorCode.NOT_JOINED,
        ErrorCode.TOO_MANY_TOPICS,
    }
)

# The ref of the frame being handled: frames a handler sends while handling it carry it too.
_current_ref: contextvars.ContextVar[Ref | None] = contextvars.ContextVar("wsroute_ref", default=None)


def thread_runner(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The default ``SyncRunner``: run the sync callable with ``asyncio.to_thread``."""
    return functools.partial(asyncio.to_thread, fn)


def as_reply(result: object, handler: str) -> Content:
    """A handler's return value as a JSON object."""
    if isinstance(result, dict):
        return result
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    raise TypeError(f"handler {handler} returned {type(result).__name__}; return a dict, a pydantic model or None")


class Dispatcher:
    """Everything about dispatching that is fixed per consumer class, computed once."""

    def __init__(
        self,
        table: RouteTable[HandlerSpec],
        *,
        key: str = "type",
        error_value: str = "ERROR",
        middlewares: Sequence[type[Middleware]] = (),
        run_sync: SyncRunner = thread_runner,
        limits: Limits | None = None,
        max_message_size: int | Literal[False] | None = False,
        topic_keys: frozenset[str] = frozenset(),
    ) -> None:
        self.key = key
        #: routing keys of the frames that join and leave topics (their ``topic`` is a request)
        self.topic_keys = topic_keys
        self.error_value = error_value
        self.run_sync = run_sync
        self.table = table.prepared(run_sync)
        self.pipeline = Pipeline.build(middlewares, run_sync)
        limits = limits if limits is not None else Limits()
        if max_message_size is not False:  # the keyword from before Limits existed
            limits = dataclasses.replace(limits, max_message_size=max_message_size)
        #: the limits of connections that are not given their own
        self.limits = limits

    def prepare(self, spec: HandlerSpec) -> PreparedHandler:
        """A lifecycle hook's spec made ready to ``Connection.call``."""
        return spec.prepared(self.run_sync)

    def connect(
        self, transport: Transport, receiver: object, limits: Limits | None = None, observer: Observer | None = None
    ) -> Connection:
        """Start a connection: ``receiver`` is what handlers get first (the socket or ``self``)."""
        chain = self.pipeline.bind(receiver, transport.scope)
        connection = Connection(self, transport, receiver, chain, limits if limits is not None else self.limits)
        connection.observer = observer
        return connection

    def error(self, code: ErrorCode, detail: str, ref: Ref | None = None, errors: Any = None) -> Content:
        return error_frame(self.key, self.error_value, code, detail, ref, errors)


class Connection:
    """One live socket's side of the dispatcher."""

    __slots__ = (
        "_crash_log",
        "_guard",
        "_opened",
        "_throttle",
        "closed",
        "dispatcher",
        "hooked",
        "limits",
        "middleware",
        "observer",
        "receiver",
        "topics",
        "transport",
    )

    def __init__(
        self,
        dispatcher: Dispatcher,
        transport: Transport,
        receiver: object,
        middleware: MiddlewareChain,
        limits: Limits | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.transport = transport
        self.receiver = receiver
        self.middleware = middleware
        self.limits = limits if limits is not None else dispatcher.limits
        #: the middleware on_connect hooks started, so their on_disconnect hooks will run
        self._opened = False
        #: the connect hook was called, so the disconnect hook will be
        self.hooked = False
        #: this connection closed the socket itself (flooding); later frames are ignored
        self.closed = False
        #: told about every frame (metrics), when set
        self.observer: Observer | None = None
        #: the topics the socket joined, when its consumer declares any: a client frame that
        #: names a ``topic`` must name one of them
        self.topics: TopicSet | None = None
        self._guard = FloodGuard(self.limits)
        self._throttle: LogThrottle | None = None  # client errors; made at the first one
        self._crash_log: LogThrottle | None = None  # handler errors, with their tracebacks

    async def call(self, handler: PreparedHandler, *args: Any, **kwargs: Any) -> Any:
        """Call a prepared handler or hook with the receiver first."""
        return await handler.call(self.receiver, *args, **kwargs)

    async def open(self, hook: PreparedHandler | None = None) -> bool:
        """Run the middleware ``on_connect`` hooks, then ``hook``. False if the socket was closed.

        ``Reject`` closes with its code (4403 by default) and reason; any other exception is
        logged and closes with 4500. The transport accepts the socket before closing it.
        """
        self._opened = True
        try:
            await self.middleware.run_connect()
            self.hooked = True
            if hook is not None:
                await self.call(hook)
        except Reject as exc:
            logger.info("connection rejected (%s): %s", exc.code, clip_log(str(exc)))
            await self.transport.close_socket(exc.code, str(exc))
            return False
        except Exception:
            logger.exception("connect hook raised; closing with %s", CLOSE_INTERNAL_ERROR)
            await self.transport.close_socket(CLOSE_INTERNAL_ERROR, SERVER_ERROR_DETAIL)
            return False
        return True

    async def close(self, code: int, hook: PreparedHandler | None = None) -> None:
        """Run ``hook`` (with the close code if it takes one), then middleware ``on_disconnect``.

        ``hook`` is skipped for a socket a middleware refused before the connect hook ran, and
        both for a socket that closed before ``open`` (its setup failed or was cancelled).
        """
        try:
            if hook is not None and self.hooked:
                await self.call(hook, *((code,) if hook.takes_content else ()))
        except Exception:
            logger.exception("disconnect hook %s raised", hook.name if hook else "?")
        if not self._opened:
            return
        try:
            await self.middleware.run_disconnect(code)
        except Exception:
            logger.exception("a middleware's on_disconnect raised")

    async def receive(self, text: str | None = None, bytes_data: bytes | None = None) -> None:
        """Handle one client frame. Bad input and handler errors become error frames; never raises
        for anything the client sent."""
        if self.closed:
            return
        observer = self.observer
        started = time.perf_counter() if observer is not None else 0.0
        verdict = self._guard.admit()  # every frame counts, malformed ones too
        if verdict:
            await self._flooded(verdict)
            if observer is not None:
                observer.frame("(none)", ErrorCode.RATE_LIMITED, 0.0)
            return
        dispatcher = self.dispatcher
        ref: Ref | None = None
        handler = "?"
        label = "(none)"
        try:
            if text is None:
                raise BadMessage("binary frames are not accepted; send a JSON object in a text frame")
            limit = self.limits.max_message_size
            if limit is not None and len(text) > limit >> 2 and utf8_size(text) > limit:
                raise TooLarge(f"frame of {utf8_size(text)} bytes exceeds the limit of {limit}")
            key, ref, content = parse(text, dispatcher.key)
            if self.middleware.pipeline.receive:
                content = await self.middleware.run_receive(content)
                if content is DROP:
                    if observer is not None:
                        observer.frame(label, "dropped", time.perf_counter() - started)
                    return
                key = _routing_key(content, dispatcher.key)
            if self.topics is not None and "topic" in content and key not in dispatcher.topic_keys:
                self.topics.require(content["topic"])
            resolved = dispatcher.table.resolve(key)
            if resolved is None:
                raise UnknownType(f"no route for {dispatcher.key} {clip_log(key)[:64]!r}")
            route, match = resolved
            handler = route.handler.name
            if observer is not None:
                label = _route_label(route.key)
            token = _current_ref.set(ref) if ref is not None else None
            try:
                result = await self._invoke(route.handler, content, match)
            finally:
                if token is not None:
                    _current_ref.reset(token)
            if result is not None:
                await self._send(with_ref(as_reply(result, handler), ref))
            if observer is not None:
                observer.frame(label, "ok", time.perf_counter() - started)
        except MessageError as exc:
            ref = exc.ref if exc.ref is not None else ref
            self._throttle = self._throttle or LogThrottle()
            self._throttle.log(
                logger,
                logging.INFO,
                "%s: %s (handler %s, ref %s)",
                exc.code,
                clip_log(exc.detail),
                handler,
                clip_log(ref),
            )
            await self.send_error(exc.code, exc.detail, ref, getattr(exc, "errors", None))
            if observer is not None:
                observer.frame(label, exc.code, time.perf_counter() - started)
        except Exception:
            self._crash_log = self._crash_log or LogThrottle()
            self._crash_log.log(
                logger,
                logging.ERROR,
                "handler %s raised while handling a frame (ref %s)",
                handler,
                clip_log(ref),
                exc_info=True,
            )
            await self.send_error(ErrorCode.SERVER_ERROR, SERVER_ERROR_DETAIL, ref)
            if observer is not None:
                observer.frame(label, ErrorCode.SERVER_ERROR, time.perf_counter() - started)

    async def _flooded(self, verdict: int) -> None:
        if verdict == flood.REPLY:
            self._throttle = self._throttle or LogThrottle()
            self._throttle.log(
                logger, logging.INFO, "rate_limited: socket on %s sends faster than %s", self._path(), self.limits.rate
            )
            await self.send_error(ErrorCode.RATE_LIMITED, f"more than {self.limits.rate} frames; slow down")
        elif verdict == flood.CLOSE:
            logger.warning(
                "socket on %s kept sending faster than %s; closing with %d",
                self._path(),
                self.limits.rate,
                CLOSE_FLOODING,
            )
            await self.close_flooding()

    async def send_error(
        self, code: ErrorCode, detail: str, ref: Ref | None = None, errors: list[dict[str, Any]] | None = None
    ) -> None:
        """Send one (bounded) error frame; count it toward the socket's error budget."""
        try:
            await self._send(self.dispatcher.error(code, detail, ref, errors))
        except Exception:
            logger.exception("could not send a %s error frame", code)
        if code in _CLIENT_FAULTS and self._guard.note_error() and not self.closed:
            logger.warning("socket on %s sent too many bad frames; closing with %d", self._path(), CLOSE_FLOODING)
            await self.close_flooding()

    async def close_flooding(self) -> None:
        self.closed = True
        await self.transport.close_socket(CLOSE_FLOODING, "too many frames")

    def _path(self) -> str:
        return clip_log(self.transport.scope.get("path", "?"))

    async def run_event(self, key: str, content: Content) -> None:
        """Run the route for ``key`` server-side, sending nothing to the client.

        Used for events other consumers ask this one to handle (``group_call_event``):
        the return value is discarded and failures are logged, never sent to the client.
        """
        resolved = self.dispatcher.table.resolve(key)
        if resolved is None:
            logger.warning("server-side event %s has no route on %r; ignored", clip_log(key), self.receiver)
            return
        route, match = resolved
        try:
            await self._invoke(route.handler, content, match)
        except Exception:
            logger.exception("handler %s raised while handling server-side event %s", route.handler.name, clip_log(key))

    async def _invoke(self, handler: PreparedHandler, content: Content, match: re.Match[str] | None) -> Any:
        message = handler.validator(content) if handler.validator is not None else content
        args = (message,) if handler.takes_content else ()
        if handler.takes_match:
            return await handler.call(self.receiver, *args, match=match)
        return await handler.call(self.receiver, *args)

    async def send(self, content: Content) -> None:
        """Send a frame through the ``on_send`` middleware (reverse order), then the transport.

        While a handler runs, frames it sends get the ``ref`` of the frame it handles.
        Raises ``FrameNotSent`` for a frame JSON cannot carry or larger than ``max_send_size``.
        """
        ref = _current_ref.get()
        await self._send(content if ref is None else with_ref(content, ref))

    async def _send(self, content: Content) -> None:
        if self.middleware.pipeline.send:
            try:
                changed = await self.middleware.run_send(content)
            except Exception:
                logger.exception("a middleware's on_send raised; sending server_error instead")
                changed = self.dispatcher.error(ErrorCode.SERVER_ERROR, SERVER_ERROR_DETAIL, content.get("ref"))
            if changed is DROP:
                return
            content = changed
        await self.transport.send_text(self.encode(content))

    def encode(self, content: Content) -> str:
        """``content`` as JSON text, or ``FrameNotSent`` (see ``envelope.dump``, and ``max_send_size``)."""
        return self._checked(dump(content))

    async def send_encoded(self, text: str) -> None:
        """Send a frame that is JSON text already (encoded once for many sockets, by the sender).

        With ``on_send`` middleware, or a ``ref`` to add, it goes the ``send`` way as a dict."""
        if self.middleware.pipeline.send or _current_ref.get() is not None:
            await self.send(json.loads(text))
            return
        await self.transport.send_text(self._checked(text))

    def _checked(self, text: str) -> str:
        limit = self.limits.max_send_size
        if limit is not None and len(text) > limit >> 2 and (size := utf8_size(text)) > limit:
            raise FrameNotSent(f"frame of {size} bytes exceeds max_send_size ({limit})")
        return text


def _route_label(key: object) -> str:
    """A route's name for metrics: its exact name, its pattern, or ``(default)``."""
    if isinstance(key, str):
        return key
    return "(default)" if key is None else str(getattr(key, "pattern", key))


def _routing_key(content: object, key: str) -> str:
    if not isinstance(content, dict):
        raise TypeError(f"a middleware's on_receive returned {type(content).__name__}, expected a dict or DROP")
    value = content.get(key)
    if not isinstance(value, str):
        raise BadMessage(f"message has no string {key!r} after middleware")
    return value
