"""What a failed ``SocketClient`` expectation raises.

Every class is an ``AssertionError``, so pytest and ``unittest`` report a failure (not an
error), and every message ends with the frames the client received so far::

    SocketClientError
    ├── HandshakeRefused   the server closed the socket instead of accepting it
    ├── SocketClosed       the server closed the socket while the client waited
    ├── FrameTimeout       the awaited frame did not arrive in time
    ├── ErrorReply         an error frame where a reply was expected
    └── UnexpectedFrame    a frame that should not be there (or is not a JSON object)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = [
    "ErrorReply",
    "FrameTimeout",
    "HandshakeRefused",
    "SocketClientError",
    "SocketClosed",
    "UnexpectedFrame",
    "describe_frames",
]

#: frames shown in a failure message (the most recent ones)
SHOWN_FRAMES = 20
#: characters of one frame shown in a failure message
SHOWN_CHARS = 300


def _show(frame: Any) -> str:
    # a frame that is not a JSON object is shown raw
    text = json.dumps(frame, ensure_ascii=False, default=repr) if isinstance(frame, dict) else repr(frame)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + f"... ({len(text)} characters)"


def describe_frames(frames: Sequence[Any], unread: Sequence[int] = ()) -> str:
    """``frames`` as numbered lines, the ones still unread marked."""
    if not frames:
        return "no frames received"
    unread_set = set(unread)
    skipped = max(0, len(frames) - SHOWN_FRAMES)
    lines = [f"frames received ({len(frames)}):"]
    if skipped:
        lines.append(f"  ... {skipped} earlier frame(s) not shown")
    for number, frame in enumerate(frames[skipped:], start=skipped):
        mark = "  (unread)" if number in unread_set else ""
        lines.append(f"  {number + 1}. {_show(frame)}{mark}")
    return "\n".join(lines)


class SocketClientError(AssertionError):
    """A ``SocketClient`` expectation failed. ``frames`` holds everything received so far."""

    def __init__(self, message: str, frames: Sequence[Any] = (), unread: Sequence[int] = ()) -> None:
        super().__init__(f"{message}\n{describe_frames(frames, unread)}")
        self.frames = list(frames)


class HandshakeRefused(SocketClientError):
    """The server closed the socket instead of accepting the handshake (``code``)."""

    def __init__(self, message: str, code: int | None, frames: Sequence[Any] = ()) -> None:
        super().__init__(message, frames)
        self.code = code


class SocketClosed(SocketClientError):
    """The server closed the socket (``code``, ``reason``) while the client waited for a frame."""

    def __init__(
        self, message: str, code: int | None, reason: str, frames: Sequence[Any] = (), unread: Sequence[int] = ()
    ) -> None:
        super().__init__(message, frames, unread)
        self.code = code
        self.reason = reason


class FrameTimeout(SocketClientError):
    """The awaited frame did not arrive within the timeout."""


class ErrorReply(SocketClientError):
    """The server answered with an error frame (``frame``, ``code``) where a reply was expected."""

    def __init__(
        self, message: str, frame: dict[str, Any], frames: Sequence[Any] = (), unread: Sequence[int] = ()
    ) -> None:
        super().__init__(message, frames, unread)
        self.frame = frame
        self.code = frame.get("code")


class UnexpectedFrame(SocketClientError):
    """A frame arrived that should not have, or it is not a JSON object."""
