"""Per-socket rate limiting: a token bucket, no I/O, no shared state."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

from wsroute.errors import RateLimited
from wsroute.limits import parse_rate
from wsroute.middleware import Middleware

__all__ = ["RateLimitMiddleware", "parse_rate"]


class RateLimitMiddleware(Middleware):
    """Answers ``rate_limited`` to frames beyond ``rate`` for this socket; the socket stays open.

    Subclass it with your own rate, or use ``RateLimitMiddleware.with_rate("5/s")``::

        class Chat(JSONWebSocket):
            middlewares = [RateLimitMiddleware.with_rate("20/s")]

    The bucket holds ``count`` tokens, so bursts up to the count pass at once.
    """

    rate: ClassVar[str] = "20/s"
    _capacity: ClassVar[int] = 20
    _refill_per_second: ClassVar[float] = 20.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        count, per = parse_rate(cls.rate)
        cls._capacity = count
        cls._refill_per_second = count / per

    @classmethod
    def with_rate(cls, rate: str) -> type[RateLimitMiddleware]:
        return type(f"RateLimitMiddleware_{rate}", (cls,), {"rate": rate})

    def __init__(self, consumer: Any, scope: Mapping[str, Any]) -> None:
        super().__init__(consumer, scope)
        self._tokens = float(self._capacity)
        self._updated = time.monotonic()

    async def on_receive(self, content: dict[str, Any]) -> None:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._refill_per_second)
        self._updated = now
        if self._tokens < 1.0:
            raise RateLimited(f"more than {self.rate} messages; slow down")
        self._tokens -= 1.0
