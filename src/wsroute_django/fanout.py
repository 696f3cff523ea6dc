"""One channel-layer message per server process for a send to many sockets, fanned out locally.

``Socket.objects.filter(...).send_json(...)`` used to send one layer message per socket: a
thousand sockets, a thousand round trips to Redis. Every row names the process serving its
socket (``Socket.server``), and every process that serves persisted sockets listens on a
channel named after itself (``server_channel``). A queryset send groups its rows by process
and sends each process one ``wsroute.batch`` message listing the channels; that process
hands the inner message to each of its consumers in memory (``Inbox``), in the order the
batches arrived. Rows without a server, and batches a full channel refuses, are sent one
message per socket as before.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer

from wsroute.limits import LogThrottle
from wsroute_django import layer

if TYPE_CHECKING:
    from wsroute_django.consumer import SocketConsumer

__all__ = ["BATCH_SIZE", "Inbox", "inbox", "send_to_rows", "server_channel"]

logger = logging.getLogger("wsroute")

#: channel names per batch message (a Redis channel name is about 74 characters)
BATCH_SIZE: Final = 500


def server_channel(server: str) -> str:
    """The channel the process ``server`` (a ``Socket.server`` value) listens on."""
    return "wsroute.server." + re.sub(r"[^a-zA-Z0-9_.-]", "-", server)[:80]


class Inbox:
    """This process's consumers with rows, by channel name, and the task reading its server channel."""

    def __init__(self) -> None:
        self.consumers: dict[str, SocketConsumer] = {}
        self.task: asyncio.Task[None] | None = None
        self._log = LogThrottle("in this process")

    def add(self, consumer: SocketConsumer) -> None:
        self.consumers[consumer.channel_name] = consumer
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            self.task = loop.create_task(self._listen(), name="wsroute-server-inbox")

    def remove(self, consumer: SocketConsumer) -> None:
        if self.consumers.get(consumer.channel_name) is consumer:
            del self.consumers[consumer.channel_name]
        if not self.consumers and self.task is not None:
            self.task.cancel()  # not awaited: redis-py may sit out its blocking pop first
            self.task = None

    async def _listen(self) -> None:
        from wsroute_django.rows import SERVER_ID  # rows needs the app registry; this module may not

        channel_layer = get_channel_layer()
        if channel_layer is None:
            return
        name = server_channel(SERVER_ID)
        failures = 0
        while True:
            try:
                message = await channel_layer.receive(name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self._log.log(logger, logging.WARNING, "server inbox: channel layer unavailable (%s)", exc)
                await asyncio.sleep(min(2.0, 0.05 * 2**failures))
                continue
            failures = 0
            self.hand_out(message)

    def hand_out(self, message: Mapping[str, Any]) -> int:
        """Give a batch's inner message to each listed consumer of this process; how many got it."""
        parsed = layer.read_batch(message)
        if parsed is None:
            self._log.log(
                logger, logging.WARNING, "server inbox: malformed message of type %r ignored", message.get("type")
            )
            return 0
        names, inner = parsed
        handed = 0
        for name in names:
            consumer = self.consumers.get(name)
            if consumer is not None:  # else: it closed since the sender read its row
                consumer.deliver_local(inner)
                handed += 1
        return handed


inbox = Inbox()


async def send_to_rows(rows: Iterable[tuple[str, str]], message: dict[str, Any]) -> int:
    """Send ``message`` to each ``(channel name, server)``; one layer message per server process
    with two or more of them. Returns how many sockets were addressed."""
    channel_layer = get_channel_layer()
    if channel_layer is None:
        raise RuntimeError("sending to sockets needs CHANNEL_LAYERS in settings")
    by_server: dict[str, list[str]] = {}
    singles: list[str] = []
    count = 0
    for name, server in rows:
        count += 1
        (by_server.setdefault(server, []) if server else singles).append(name)
    for server, names in by_server.items():
        if len(names) == 1:
            singles.extend(names)
            continue
        for start in range(0, len(names), BATCH_SIZE):
            chunk = names[start : start + BATCH_SIZE]
            try:
                await channel_layer.send(server_channel(server), layer.batch(chunk, message))
            except ChannelFull:
                singles.extend(chunk)  # the process is behind (or gone): address each socket instead
    for name in singles:
        await channel_layer.send(name, message)
    return count
