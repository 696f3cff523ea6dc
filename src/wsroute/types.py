"""Type aliases and protocols shared by the core and its adapters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any, Protocol, TypeAlias

__all__ = ["Content", "ErrorCode", "Observer", "Ref", "SyncRunner", "Transport"]

#: A decoded client frame or an outgoing JSON object.
Content: TypeAlias = dict[str, Any]
#: A correlation id copied from a request onto its replies and errors.
Ref: TypeAlias = str | int
#: Turns a sync callable into an async one that runs it in a worker thread.
SyncRunner: TypeAlias = Callable[[Callable[..., Any]], Callable[..., Awaitable[Any]]]


class ErrorCode(StrEnum):
    """The ``code`` of an error frame (see the wire format page of the docs)."""

    BAD_JSON = "bad_json"
    BAD_MESSAGE = "bad_message"
    UNKNOWN_TYPE = "unknown_type"
    VALIDATION_ERROR = "validation_error"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"
    SERVER_ERROR = "server_error"
    UNKNOWN_TOPIC = "unknown_topic"
    ALREADY_JOINED = "already_joined"
    NOT_JOINED = "not_joined"
    TOO_MANY_TOPICS = "too_many_topics"


class Transport(Protocol):
    """What the dispatcher needs from a live connection (a Channels consumer, a test double)."""

    @property
    def scope(self) -> Mapping[str, Any]: ...

    async def send_text(self, text: str) -> None:
        """Send one text frame (JSON the dispatcher has already encoded and size-checked)."""

    async def close_socket(self, code: int, reason: str = "") -> None:
        """Close the connection with ``code`` (accepting it first if it is still connecting)."""


class Observer(Protocol):
    """Told about every client frame a connection handles (for metrics); optional."""

    def frame(self, route: str, outcome: str, seconds: float) -> None:
        """``route``: the matched route's name or pattern, ``"(default)"``, or ``"(none)"`` when
        no route was reached; ``outcome``: ``"ok"``, ``"dropped"`` (by middleware) or an error
        code; ``seconds``: from the frame's arrival to its reply being sent."""
