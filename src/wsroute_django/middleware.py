"""``SocketMiddleware``: the core middleware, presented for consumers."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, ClassVar

from wsroute import Middleware

if TYPE_CHECKING:
    from wsroute_django.consumer import SocketConsumer

__all__ = ["HeartbeatMiddleware", "SocketMiddleware"]

logger = logging.getLogger("wsroute")


class SocketMiddleware(Middleware):
    """Base class for consumer middleware, listed in ``middlewares = [...]``.

    Define any of ``on_connect()``, ``on_receive(content)``, ``on_send(content)`` and
    ``on_disconnect(code)``, sync or async. ``self.consumer`` is the consumer and
    ``self.scope`` its scope::

        class UserGatherMiddleware(SocketMiddleware):
            def on_connect(self):
                self.consumer.name = self.scope["url_route"]["kwargs"]["name"]

    ``on_connect`` runs before the consumer's own hook and may ``raise Reject()`` (4403).
    ``on_receive`` and ``on_send`` return a changed message, ``DROP``, or ``None`` (unchanged).
    """

    consumer: SocketConsumer

    def __init__(self, consumer: Any, scope: Any) -> None:
        super().__init__(consumer, scope)


class HeartbeatMiddleware(SocketMiddleware):
    """Close sockets that stay silent for ``timeout`` seconds with 4408.

    Clients keep a socket alive by sending anything, e.g. ``{"type": "PING"}`` (answered
    with ``PONG`` by ``RoutedSocketHandler``). Set the timeout by subclassing::

        class Heartbeat(HeartbeatMiddleware):
            timeout = 45.0

    The per-message cost is one clock read; a single timer task per socket does the rest.
    """

    timeout: ClassVar[float] = 60.0
    close_code: ClassVar[int] = 4408

    def __init__(self, consumer: Any, scope: Any) -> None:
        super().__init__(consumer, scope)
        self.last_seen = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    async def on_connect(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="wsroute-idle-watch")

    async def on_receive(self, content: Any) -> None:
        self.last_seen = time.monotonic()

    async def on_disconnect(self, code: int) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _watch(self) -> None:
        while True:
            idle = time.monotonic() - self.last_seen
            if idle >= self.timeout:
                logger.info(
                    "socket on %s silent for %.0f s; closing with %d", self.consumer.path, idle, self.close_code
                )
                await self.consumer.close_socket(self.close_code)
                return
            await asyncio.sleep(self.timeout - idle)
