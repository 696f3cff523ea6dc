"""Socket rows over a connection's life: written on connect, deleted on every exit.

Liveness costs one query per server process per ``HEARTBEAT_INTERVAL``: every row records
the process serving it (``server``), and a background task (``liveness``) refreshes
``last_ping`` for all of them at once. A process that dies stops refreshing; any live
process's sweep (and ``manage.py wsroute_prune``) then removes its rows and their group
memberships, and sends ``group_left`` and ``socket_disconnected`` for each removed row, as its
own consumer would have (``sender=Socket``, ``socket=None``, ``row=``, ``pruned=True``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import os
import socket as _socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone

from wsroute_django import membership, signals
from wsroute_django.conf import get_settings
from wsroute_django.metrics import get_metrics
from wsroute_django.models import Socket, SocketGroup, TopicMember

__all__ = [
    "PRUNED_CLOSE_CODE",
    "SERVER_ID",
    "Liveness",
    "PrunedSocket",
    "SocketTableMissing",
    "after_prune",
    "build_row",
    "client_ip",
    "close_row",
    "close_rows",
    "close_rows_of_channel",
    "delete_stale",
    "forget_channels",
    "join_group",
    "leave_group",
    "liveness",
    "open_row",
    "prune_stale",
    "sweep",
    "touch",
]

logger = logging.getLogger("wsroute")

#: identifies this server process in ``Socket.server``
SERVER_ID = f"{_socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

#: the length of ``Socket.session_key`` (and of Django's own session keys)
SESSION_KEY_LENGTH = 40

DB_SESSION_ENGINES = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")


def client_ip(scope: Mapping[str, Any]) -> str | None:
    """The client address: the trusted proxy header's first address if configured, else the peer."""
    header = get_settings().TRUSTED_PROXY_HEADER
    candidate: str | None = None
    if header:
        wanted = header.lower().encode("latin-1")
        for name, value in scope.get("headers", ()):
            if name.lower() == wanted:
                candidate = value.decode("latin-1").split(",")[0].strip()
                break
    if candidate is None:
        client = scope.get("client")
        candidate = client[0] if client else None
    if candidate is None:
        return None
    try:
        return str(ipaddress.ip_address(candidate.strip("[]")))
    except ValueError:
        return None


class SocketTableMissing(Exception):
    """The ``Socket`` table does not exist: ``manage.py migrate`` has not run on this database."""


def socket_table_exists() -> bool:
    connection = connections[router.db_for_write(Socket)]
    with connection.cursor() as cursor:
        return Socket._meta.db_table in connection.introspection.table_names(cursor)


def build_row(scope: Mapping[str, Any], channel_name: str) -> Socket:
    """The unsaved row for a new connection (no query: the user and session are already resolved)."""
    session = scope.get("session")
    session_key = getattr(session, "session_key", None) or ""
    if len(session_key) > SESSION_KEY_LENGTH:
        session_key = ""  # a signed-cookie session's "key" is its signed data, not an identifier
    user = scope.get("user")
    row = Socket(
        channel_name=channel_name,
        session_key=session_key,
        user=user if getattr(user, "is_authenticated", False) else None,
        path=str(scope.get("path", ""))[:255],
        last_ping=timezone.now(),
        user_ip=client_ip(scope),
        server=SERVER_ID,
    )
    # session.__class__, not type(session): Channels' SessionMiddleware wraps it in a LazyObject
    if session_key and getattr(session.__class__, "__module__", "") in DB_SESSION_ENGINES:
        row.session_id = session_key  # FK without a DB constraint
    return row


def open_row(scope: Mapping[str, Any], channel_name: str) -> Socket:
    """Write the row for a new connection (runs in a worker thread). Consumers use ``RowWriter``."""
    row = build_row(scope, channel_name)
    try:
        row.save()
    except DatabaseError as exc:
        if not socket_table_exists():  # asked only after a failure: connects pay nothing for it
            raise SocketTableMissing(Socket._meta.db_table) from exc
        raise
    return row


def close_row(pk: int, joined_groups: bool = True) -> None:
    """Delete a connection's row (and its memberships, if it ever joined a group)."""
    if _other_models_reference_sockets():
        Socket.objects.filter(pk=pk).delete()  # the ORM cascades to the user's models
        return
    # One DELETE per table, without the ORM's deletion collector (a SELECT and a
    # transaction per disconnect): connect/disconnect churn pays for every statement here.
    connection = connections[router.db_for_write(Socket)]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if joined_groups:
            for model in (SocketGroup, TopicMember):
                column = quote(model._meta.get_field("socket").column)
                cursor.execute(f"DELETE FROM {quote(model._meta.db_table)} WHERE {column} = %s", [pk])
        cursor.execute(
            f"DELETE FROM {quote(Socket._meta.db_table)} WHERE {quote(str(Socket._meta.pk.column))} = %s", [pk]
        )


def close_rows_of_channel(channel_name: str) -> None:
    """Delete the row of ``channel_name``, if any: for a connection that was cancelled before it
    learned its row's primary key."""
    Socket.objects.filter(channel_name=channel_name).delete()


@functools.cache
def _other_models_reference_sockets() -> bool:
    """True when a model besides wsroute's own points at Socket (e.g. a profile per socket)."""
    return any(relation.related_model not in (SocketGroup, TopicMember) for relation in Socket._meta.related_objects)


def join_group(pk: int, name: str) -> None:
    SocketGroup.objects.get_or_create(socket_id=pk, name=name)


def leave_group(pk: int, name: str) -> None:
    SocketGroup.objects.filter(socket_id=pk, name=name).delete()


def touch(server: str = SERVER_ID) -> int:
    """Refresh ``last_ping`` of every row this process serves: one query."""
    return Socket.objects.filter(server=server).update(last_ping=timezone.now())


#: the close code ``socket_disconnected`` carries for a pruned socket: abnormal closure, its
#: server process died without closing it
PRUNED_CLOSE_CODE = 1006


@dataclass(frozen=True)
class PrunedSocket:
    """A stale row, deleted, the groups its channel was in and its topic memberships."""

    row: Socket
    groups: list[str]
    #: ``(topic, presence key, metadata)`` of each topic the socket was in
    topics: list[tuple[str, str, Any]] = field(default_factory=list)


def delete_stale(stale_after: float | None = None) -> list[PrunedSocket]:
    """Delete rows not refreshed within ``stale_after`` seconds (default ``STALE_AFTER``), with
    their memberships; return them. Sends no signals: see ``sweep`` and ``after_prune``."""
    seconds = get_settings().STALE_AFTER if stale_after is None else stale_after
    cutoff = timezone.now() - timedelta(seconds=seconds)
    with transaction.atomic():
        stale = Socket.objects.filter(last_ping__lt=cutoff)
        # the user comes with the row, so receivers can read row.user without a query
        pruned = {row.pk: PrunedSocket(row, []) for row in stale.select_related("user").order_by("pk")}
        memberships = SocketGroup.objects.filter(socket__in=stale).order_by("pk").values_list("socket_id", "name")
        for pk, group in memberships:
            if pk in pruned:
                pruned[pk].groups.append(group)
        members = TopicMember.objects.filter(socket__in=stale).order_by("pk")
        for pk, topic, key, meta in members.values_list("socket_id", "topic", "key", "meta"):
            if pk in pruned:
                pruned[pk].topics.append((topic, key, meta))
        Socket.objects.filter(pk__in=list(pruned)).delete()
    if pruned:
        logger.info("pruned %d stale socket row(s)", len(pruned))
    return list(pruned.values())


def prune_stale(stale_after: float | None = None) -> dict[str, list[str]]:
    """``delete_stale``, as ``{channel name: its groups}``. Sends no signals."""
    return {item.row.channel_name: item.groups for item in delete_stale(stale_after)}


async def forget_channels(memberships: Mapping[str, list[str]]) -> None:
    """Take pruned channels out of their channel-layer groups."""
    layer = get_channel_layer()
    if layer is None:
        return
    for channel, names in memberships.items():
        for name in names:
            await layer.group_discard(name, channel)


async def after_prune(pruned: Sequence[PrunedSocket]) -> None:
    """Take pruned channels out of their layer groups and topics, tell each topic which users
    are gone with them (presence ``leaves``), then send the signals their consumers would have
    sent: ``group_left`` for each group, then ``socket_disconnected`` with 1006.

    ``sender`` is the ``Socket`` model, ``socket`` is ``None``, and receivers also get
    ``row`` (the deleted row) and ``pruned=True``. The signals are sent even if the channel
    layer fails (that error is raised afterwards); a receiver that raises is logged.
    """
    try:
        await forget_channels(
            {
                item.row.channel_name: [*item.groups, *(membership.topic_group(topic) for topic, _, _ in item.topics)]
                for item in pruned
            }
        )
    finally:
        gone = [member for item in pruned for member in item.topics]
        if gone:
            try:
                await database_sync_to_async(membership.pruned_leaves)(gone)
            except Exception:
                logger.exception("could not announce the presence leaves of pruned sockets")
        for item in pruned:
            for group in item.groups:
                await signals.emit(signals.group_left, Socket, socket=None, group=group, row=item.row, pruned=True)
            await signals.emit(
                signals.socket_disconnected, Socket, socket=None, code=PRUNED_CLOSE_CODE, row=item.row, pruned=True
            )


async def sweep(stale_after: float | None = None) -> list[PrunedSocket]:
    """Delete stale rows, take their channels out of their groups and send their signals."""
    pruned: list[PrunedSocket] = await database_sync_to_async(delete_stale)(stale_after)
    metrics = get_metrics()
    if metrics is not None and pruned:
        metrics.rows_pruned.inc(len(pruned))
    await after_prune(pruned)
    return pruned


class Liveness:
    """The per-process task refreshing ``last_ping``, running while this process serves persisted sockets."""

    def __init__(self) -> None:
        self.sockets = 0
        self.task: asyncio.Task[None] | None = None

    def retain(self) -> None:
        self.sockets += 1
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            self.task = loop.create_task(self._run(), name="wsroute-liveness")

    def release(self) -> None:
        self.sockets = max(0, self.sockets - 1)
        if self.sockets == 0 and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        interval = get_settings().HEARTBEAT_INTERVAL
        while True:
            await asyncio.sleep(interval)
            beat = asyncio.ensure_future(self._beat())
            try:
                await asyncio.shield(beat)
            except asyncio.CancelledError:
                # The last socket went during a beat: finish it, so that rows it already
                # deleted still get their signals, then stop.
                await beat
                raise

    @staticmethod
    async def _beat() -> None:
        try:
            await database_sync_to_async(touch)()
            await sweep()
        except Exception:
            logger.exception("socket heartbeat or stale-row sweep failed; retrying next interval")


liveness = Liveness()


def close_rows(pks: Sequence[int], joined: Sequence[int] = ()) -> None:
    """Delete rows (and the group and topic memberships of those in ``joined``): one DELETE
    per table, a transaction only when there are memberships to delete too."""
    if _other_models_reference_sockets():
        Socket.objects.filter(pk__in=pks).delete()  # the ORM cascades to the user's models
        return
    using = router.db_for_write(Socket)
    connection = connections[using]
    quote = connection.ops.quote_name
    socket_table = f"DELETE FROM {quote(Socket._meta.db_table)} WHERE {quote(str(Socket._meta.pk.column))} IN "
    with transaction.atomic(using=using) if joined else contextlib.nullcontext(), connection.cursor() as cursor:
        if joined:
            for model in (SocketGroup, TopicMember):
                column = quote(model._meta.get_field("socket").column)
                cursor.execute(
                    f"DELETE FROM {quote(model._meta.db_table)} WHERE {column} IN " + _placeholders(len(joined)),
                    list(joined),
                )
        cursor.execute(socket_table + _placeholders(len(pks)), list(pks))


def _placeholders(count: int) -> str:
    return f"({', '.join(['%s'] * count)})"


#: the names these had before they said what they are
Heartbeat = Liveness
heartbeat = liveness
