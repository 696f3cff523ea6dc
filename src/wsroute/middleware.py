"""The middleware pipeline, one for both styles.

A middleware is a class with any of these methods, each sync or async::

    on_connect()              may raise Reject to refuse the socket (closed with 4403)
    on_receive(content)       return a changed message, DROP to drop it, or None to keep it
    on_send(content)          the same, for every frame sent to the client
    on_disconnect(code)

It is instantiated once per connection with ``consumer`` and ``scope``. Connect and
receive hooks run in list order; send and disconnect hooks in reverse order. Which hooks a
class defines, and whether they are async, is worked out once per consumer class.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from wsroute.handlers import describe, is_async_callable
from wsroute.types import SyncRunner

__all__ = ["DROP", "Drop", "Middleware", "MiddlewareChain", "Pipeline"]

logger = logging.getLogger("wsroute")

HOOKS: Final = ("on_connect", "on_receive", "on_send", "on_disconnect")


class Drop(enum.Enum):
    DROP = "DROP"


#: Return this from ``on_receive`` or ``on_send`` to drop the message.
DROP: Final = Drop.DROP


class Middleware:
    """Base class for middleware. Override only the hooks you need; the rest cost nothing."""

    def __init__(self, consumer: Any, scope: Mapping[str, Any]) -> None:
        self.consumer = consumer
        self.scope = scope


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The middleware chain of one consumer class, resolved once."""

    classes: tuple[type[Middleware], ...]
    connect: tuple[tuple[int, Callable[..., Awaitable[Any]]], ...]
    receive: tuple[tuple[int, Callable[..., Awaitable[Any]]], ...]
    send: tuple[tuple[int, Callable[..., Awaitable[Any]]], ...]
    disconnect: tuple[tuple[int, Callable[..., Awaitable[Any]]], ...]

    @classmethod
    def build(cls, classes: Sequence[type[Middleware]], run_sync: SyncRunner) -> Pipeline:
        """Find which hooks each class defines and wrap sync ones in ``run_sync`` once."""
        from wsroute.errors import ConfigError

        for mw in classes:
            if not isinstance(mw, type):
                raise ConfigError(f"middlewares must list classes, got {mw!r}")
        steps: dict[str, list[tuple[int, Callable[..., Awaitable[Any]]]]] = {hook: [] for hook in HOOKS}
        for index, mw in enumerate(classes):
            for hook in HOOKS:
                fn = getattr(mw, hook, None)
                if fn is None:
                    continue
                if not callable(fn):
                    raise ConfigError(f"{describe(mw)}.{hook} must be a method")
                steps[hook].append((index, fn if is_async_callable(fn) else run_sync(fn)))
        return cls(
            classes=tuple(classes),
            connect=tuple(steps["on_connect"]),
            receive=tuple(steps["on_receive"]),
            send=tuple(reversed(steps["on_send"])),
            disconnect=tuple(reversed(steps["on_disconnect"])),
        )

    def bind(self, consumer: Any, scope: Mapping[str, Any]) -> MiddlewareChain:
        return MiddlewareChain(self, [mw(consumer, scope) for mw in self.classes])


class MiddlewareChain:
    """A pipeline's middleware instances for one connection."""

    __slots__ = ("instances", "pipeline")

    def __init__(self, pipeline: Pipeline, instances: list[Middleware]) -> None:
        self.pipeline = pipeline
        self.instances = instances

    async def run_connect(self) -> None:
        for index, hook in self.pipeline.connect:
            await hook(self.instances[index])

    async def run_disconnect(self, code: int) -> None:
        # Every middleware gets its cleanup, even when one before it raised.
        for index, hook in self.pipeline.disconnect:
            try:
                await hook(self.instances[index], code)
            except Exception:
                logger.exception("%s.on_disconnect raised", describe(self.pipeline.classes[index]))

    async def run_receive(self, content: Any) -> Any:
        return await _transform(self.pipeline.receive, self.instances, content)

    async def run_send(self, content: Any) -> Any:
        return await _transform(self.pipeline.send, self.instances, content)


async def _transform(
    steps: tuple[tuple[int, Callable[..., Awaitable[Any]]], ...], instances: list[Middleware], content: Any
) -> Any | Literal[Drop.DROP]:
    for index, hook in steps:
        result = await hook(instances[index], content)
        if result is DROP:
            return DROP
        if result is not None:
            content = result
    return content
