"""What one socket may send: frame sizes, flood control, and how often its errors are logged.

``Limits`` is fixed per connection (an adapter builds it from its settings). Each
``Connection`` keeps a ``FloodGuard`` that counts every frame *before* it is decoded, so
malformed frames cannot get past it, and a ``LogThrottle`` so one socket's repeated bad
frames cost at most one log line a second.
"""

from __future__ import annotations

import collections
import functools
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Final

from wsroute.errors import ConfigError

__all__ = ["CLOSE_FLOODING", "FloodGuard", "Limits", "LogThrottle", "clip_log", "parse_rate"]

#: close code for a socket that keeps flooding (too many rate-limited or bad frames)
CLOSE_FLOODING: Final = 4429
#: client-controlled text in log lines is cut to this many characters
LOG_CLIP: Final = 200

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_RATE = re.compile(r"(\d+)\s*/\s*(\d*)\s*([smh])")


@functools.lru_cache(maxsize=64)
def parse_rate(rate: str) -> tuple[int, float]:
    """``"20/s"`` -> (20, 1.0); ``"100/5m"`` -> (100, 300.0)."""
    match = _RATE.fullmatch(rate.strip()) if isinstance(rate, str) else None
    if match is None or int(match[1]) == 0:
        raise ConfigError(f"rate {rate!r} is not of the form '<count>/<unit>' like '20/s', '100/5m' or '1000/h'")
    per = int(match[2] or 1) * _UNITS[match[3]]
    if per == 0:
        raise ConfigError(f"rate {rate!r} has a zero period")
    return int(match[1]), per


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-socket limits. ``None`` turns one off."""

    #: client frames larger than this many UTF-8 bytes get ``too_large``
    max_message_size: int | None = 512 * 1024
    #: outgoing frames larger than this many UTF-8 bytes are not sent (``server_error``)
    max_send_size: int | None = 1024 * 1024
    #: frames per period, every frame counted before decoding (``"100/s"``)
    rate: str | None = "100/s"
    #: frames allowed at once above the rate (default: twice the count)
    burst: int | None = None
    #: close with 4429 after this many rate-limit windows in a row
    close_after_windows: int = 3
    #: close with 4429 when this many error frames go out within the period (``"50/10s"``)
    error_limit: str | None = "50/10s"

    def __post_init__(self) -> None:
        for name in ("max_message_size", "max_send_size", "burst"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise ConfigError(f"Limits.{name} must be a positive int or None, got {value!r}")
        if self.rate is not None:
            parse_rate(self.rate)
        if self.error_limit is not None:
            parse_rate(self.error_limit)
        if self.close_after_windows < 1:
            raise ConfigError("Limits.close_after_windows must be at least 1")


#: what ``FloodGuard.admit`` says about a frame
PASS: Final = 0
REPLY: Final = 1  # over the rate: answer rate_limited once in this window
DROP: Final = 2  # over the rate and already answered in this window
CLOSE: Final = 3  # over the rate for too many windows in a row


class FloodGuard:
    """A token bucket over every frame of one socket, and a count of its recent error frames."""

    __slots__ = (
        "_capacity",
        "_close_after",
        "_error_limit",
        "_error_period",
        "_errors",
        "_limited_window",
        "_period",
        "_refill",
        "_tokens",
        "_updated",
        "_windows",
    )

    def __init__(self, limits: Limits) -> None:
        self._capacity = 0.0
        if limits.rate is not None:
            count, self._period = parse_rate(limits.rate)
            self._capacity = float(limits.burst if limits.burst is not None else 2 * count)
            self._refill = count / self._period
        self._tokens = self._capacity
        self._updated = time.monotonic()
        self._limited_window = -2
        self._windows = 0
        self._close_after = limits.close_after_windows
        self._error_limit = limits.error_limit
        self._errors: collections.deque[float] | None = None  # made at the first error: most sockets have none

    def admit(self) -> int:
        """``PASS``, ``REPLY``, ``DROP`` or ``CLOSE`` for the frame that just arrived."""
        if self._capacity == 0.0:
            return PASS
        now = time.monotonic()
        tokens = self._tokens + (now - self._updated) * self._refill
        self._tokens = tokens if tokens < self._capacity else self._capacity
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return PASS
        window = int(now // self._period)
        if window == self._limited_window:
            return DROP
        self._windows = self._windows + 1 if window == self._limited_window + 1 else 1
        self._limited_window = window
        return CLOSE if self._windows >= self._close_after else REPLY

    def note_error(self) -> bool:
        """Count an error frame sent to the client; True when the socket has had too many."""
        errors = self._errors
        if errors is None:
            if self._error_limit is None:
                return False
            error_count, self._error_period = parse_rate(self._error_limit)
            errors = self._errors = collections.deque(maxlen=error_count)
        now = time.monotonic()
        errors.append(now)
        return len(errors) == errors.maxlen and now - errors[0] <= self._error_period


def clip_log(value: object) -> str:
    """Client-controlled text for a log line: its repr, cut to ``LOG_CLIP`` characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= LOG_CLIP else f"{text[:LOG_CLIP]}… ({len(text)} chars)"


class LogThrottle:
    """At most one line a second (for one socket's client errors, say), with a count of the rest."""

    __slots__ = ("_last", "_scope", "_suppressed")

    def __init__(self, scope: str = "from this socket") -> None:
        self._last = -1.0
        self._suppressed = 0
        self._scope = scope

    def log(self, logger: logging.Logger, level: int, message: str, *args: Any, exc_info: bool = False) -> None:
        if not logger.isEnabledFor(level):
            return
        now = time.monotonic()
        if now - self._last < 1.0:
            self._suppressed += 1
            return
        if self._suppressed:
            message += f" (and %d similar line(s) {self._scope} suppressed)"
            args = (*args, self._suppressed)
        self._last = now
        self._suppressed = 0
        if exc_info:
            logger.log(level, message, *args, exc_info=True)
        else:
            logger.log(level, message, *args)
