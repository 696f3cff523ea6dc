"""One bridge between sync handlers and the consumer's async API.

A consumer method decorated with ``@bridged`` is an ``async def`` underneath. Called on
the event loop it returns the coroutine (``await self.send_json(...)``); called from a
sync handler's worker thread, where no loop runs, it runs the coroutine on the consumer's
loop through ``async_to_sync`` and returns an already-finished awaitable, so
``self.send_json(...)`` works without ``await``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, Concatenate, ParamSpec, TypeVar

from asgiref.sync import async_to_sync

__all__ = ["bridged"]

P = ParamSpec("P")
S = TypeVar("S")
T = TypeVar("T")


class _Done(Awaitable[T]):
    """The result of a bridged call made from a worker thread: already done."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, T]:
        return self.value
        yield  # unreachable: makes this a generator


def bridged(method: Callable[Concatenate[S, P], Coroutine[Any, Any, T]]) -> Callable[Concatenate[S, P], Awaitable[T]]:
    @functools.wraps(method)
    def call(self: S, *args: P.args, **kwargs: P.kwargs) -> Awaitable[T]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return _Done(async_to_sync(method)(self, *args, **kwargs))
        return method(self, *args, **kwargs)

    return call  # type: ignore[return-value]  # functools.wraps keeps the wrapper's own signature
