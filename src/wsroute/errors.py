"""Exceptions raised by wsroute.

The hierarchy::

    WsrouteError
    ├── MessageError             a frame is answered with an error frame; the socket stays open
    │   ├── BadJSON              code "bad_json"
    │   ├── BadMessage           code "bad_message"
    │   ├── UnknownType          code "unknown_type"
    │   ├── ValidationFailed     code "validation_error" (carries pydantic's error list)
    │   ├── Forbidden            code "forbidden"
    │   ├── RateLimited          code "rate_limited"
    │   ├── TooLarge             code "too_large"
    │   ├── UnknownTopic         code "unknown_topic"
    │   ├── AlreadyJoined        code "already_joined"
    │   ├── NotJoined            code "not_joined"
    │   └── TooManyTopics        code "too_many_topics"
    ├── Reject                   raised by a connect hook or middleware: close the socket (4403)
    ├── FrameNotSent             an outgoing frame JSON cannot carry, or larger than allowed
    └── ConfigError              a mistake in a route table or consumer class, raised at class creation
        └── DuplicateRouteError

Handlers and middleware may raise any ``MessageError`` themselves: the client gets the
error frame with that code and the message as ``detail``. Any other exception becomes a
``server_error`` frame whose detail never contains the exception text.
"""

from __future__ import annotations

from typing import Any, ClassVar

from wsroute.types import ErrorCode, Ref

__all__ = [
    "AlreadyJoined",
    "BadJSON",
    "BadMessage",
    "ConfigError",
    "DuplicateRouteError",
    "Forbidden",
    "FrameNotSent",
    "MessageError",
    "NotJoined",
    "RateLimited",
    "Reject",
    "TooLarge",
    "TooManyTopics",
    "UnknownTopic",
    "UnknownType",
    "ValidationFailed",
    "WsrouteError",
]


class WsrouteError(Exception):
    """Base class of every wsroute exception."""


class MessageError(WsrouteError):
    """A client frame that gets an error frame back. ``str(exc)`` is sent as ``detail``."""

    code: ClassVar[ErrorCode]

    def __init__(self, detail: str, *, ref: Ref | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        #: set when the error is raised before the dispatcher has read the frame's ``ref``
        self.ref = ref


class BadJSON(MessageError):
    """The text frame is not valid JSON."""

    code = ErrorCode.BAD_JSON


class BadMessage(MessageError):
    """Valid JSON, but not a message: not an object, no string routing key, a binary frame."""

    code = ErrorCode.BAD_MESSAGE


class UnknownType(MessageError):
    """No route matches the routing key and the table has no default route."""

    code = ErrorCode.UNKNOWN_TYPE


class ValidationFailed(MessageError):
    """The payload does not match the handler's pydantic model."""

    code = ErrorCode.VALIDATION_ERROR

    def __init__(self, detail: str, errors: list[dict[str, Any]], *, ref: Ref | None = None) -> None:
        super().__init__(detail, ref=ref)
        self.errors = errors


class Forbidden(MessageError):
    """The socket may not do this."""

    code = ErrorCode.FORBIDDEN


class RateLimited(MessageError):
    """The socket sent more messages than its rate allows."""

    code = ErrorCode.RATE_LIMITED


class TooLarge(MessageError):
    """The frame is larger than the consumer accepts."""

    code = ErrorCode.TOO_LARGE


class UnknownTopic(MessageError):
    """A join names a topic the consumer does not declare."""

    code = ErrorCode.UNKNOWN_TOPIC


class AlreadyJoined(MessageError):
    """A join names a topic the socket is already in."""

    code = ErrorCode.ALREADY_JOINED


class NotJoined(MessageError):
    """A leave, or a frame's ``topic``, names a topic the socket is not in."""

    code = ErrorCode.NOT_JOINED


class TooManyTopics(MessageError):
    """A join beyond the per-socket limit of topics."""

    code = ErrorCode.TOO_MANY_TOPICS


class Reject(WsrouteError):
    """Refuse a connection from a connect hook or a middleware's ``on_connect``.

    The socket is accepted and then closed with ``code`` so browsers can see it.
    """

    def __init__(self, reason: str = "connection rejected", code: int = 4403) -> None:
        super().__init__(reason)
        self.code = code


class FrameNotSent(WsrouteError, ValueError):
    """An outgoing frame was not sent: JSON cannot carry it (NaN, inf, a set, nesting too deep)
    or it is larger than the socket's ``max_send_size``. Raised to the code that sent it; a
    handler that lets it escape gets a ``server_error`` frame for its request."""


class ConfigError(WsrouteError):
    """A consumer, route table or handler is declared wrongly. Raised at class creation."""


class DuplicateRouteError(ConfigError):
    """The same routing key was declared twice in one table."""
