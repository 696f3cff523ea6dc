"""The per-process Socket row writer, and each connection's ``RowTracker`` over it.

Connections do not write their own rows: they queue them with the process's ``row_writer``,
which writes whatever was queued while its previous flush ran in one statement per table
(group commit). A quiet process writes each row at once; a burst of handshakes costs a few
statements instead of one per connection, and on PostgreSQL those run on the writer's own
thread and connection instead of queueing behind sync handlers in asgiref's shared thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from django.db import DatabaseError, close_old_connections, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from wsroute_django import membership
from wsroute_django.models import Socket, SocketGroup
from wsroute_django.rows import (
    SocketTableMissing,
    build_row,
    close_row,
    close_rows,
    close_rows_of_channel,
    join_group,
    leave_group,
    liveness,
    logger,
    socket_table_exists,
)

__all__ = ["MAX_BATCH", "RowTracker", "RowWriter", "row_writer", "write_batch"]

#: most operations of each kind (row inserts, memberships, row deletes) one flush writes
MAX_BATCH = 250

#: what a flush sends to its thread: (scope, channel name) per new row, (pk, group, join?)
#: per membership change, (pk, joined a group?) per row to delete
_Inserts = Sequence[tuple[Mapping[str, Any], str]]
_Memberships = Sequence[tuple[int, str, bool]]
_Deletes = Sequence[tuple[int, bool]]
#: per operation, in order: the written row (inserts) or None, or the exception that failed it
_Outcomes = tuple[list[Socket | Exception], list[Exception | None], list[Exception | None]]

_own_thread: ThreadPoolExecutor | None = None
_own_thread_lock = threading.Lock()
ROW_THREAD_NAME = "wsroute-rows"


@receiver(connection_created)
def commit_rows_asynchronously(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """The row thread's PostgreSQL connection does not wait for the WAL flush at each commit.

    Socket rows are soft state: a server that crashes loses its sockets and its rows are
    pruned anyway, so a commit lost in a database crash costs nothing, while waiting for the
    disk is most of a row's write time. Only this connection changes; nothing else in the
    session or the project does.
    """
    if connection.vendor == "postgresql" and threading.current_thread().name.startswith(ROW_THREAD_NAME):
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")


def _row_thread() -> ThreadPoolExecutor:
    """The process's row-writing thread, with its own database connection."""
    global _own_thread
    with _own_thread_lock:
        if _own_thread is None:
            _own_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=ROW_THREAD_NAME)
        return _own_thread


def write_batch(
    inserts: _Inserts,
    memberships: _Memberships,
    deletes: _Deletes,
    inserted: Callable[[list[Socket | Exception]], object] | None = None,
) -> _Outcomes:
    """Write one flush of the row writer (in a worker thread): new rows, then membership
    changes in the order they were asked for, then deletes, each kind in as few statements as
    it takes. A failing statement is retried one operation at a time, so one bad row (a user
    deleted meanwhile, say) fails only its own connection.

    ``inserted`` gets the new rows as soon as they are written, before the rest: connections
    wait for their row to be accepted, nobody waits for a delete."""
    rows = _insert_rows(inserts)
    if inserted is not None and rows:
        inserted(rows)
    return rows, _change_memberships(memberships), _delete_rows(deletes)


def _on_row_thread(fn: Callable[..., _Outcomes], *args: Any) -> _Outcomes:
    """``fn`` on the row thread, its database connection checked before and after, as
    ``database_sync_to_async`` does in the shared thread (where a test may have switched
    that off to keep its transaction's connection open)."""
    close_old_connections()
    try:
        return fn(*args)
    finally:
        close_old_connections()


def _insert_rows(items: _Inserts) -> list[Socket | Exception]:
    if not items:
        return []
    using = router.db_for_write(Socket)
    outcomes: list[Socket | Exception] = []
    for scope, channel_name in items:
        try:
            row = build_row(scope, channel_name)
            pre_save.send(sender=Socket, instance=row, raw=False, using=using, update_fields=None)
        except Exception as exc:
            outcomes.append(exc)
        else:
            outcomes.append(row)
    pending = [row for row in outcomes if isinstance(row, Socket)]
    try:
        _insert(pending, using)
    except Exception as exc:
        if isinstance(exc, DatabaseError) and not socket_table_exists():  # asked only after a failure
            missing = SocketTableMissing(Socket._meta.db_table)
            missing.__cause__ = exc
            return [missing if isinstance(outcome, Socket) else outcome for outcome in outcomes]
        # Statements that succeeded gave their rows a pk; the others are retried one by one.
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, Socket) and outcome.pk is None:
                try:
                    _insert([outcome], using)
                except Exception as exc:
                    outcomes[index] = exc
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, Socket):
            try:
                post_save.send(
                    sender=Socket, instance=outcome, created=True, update_fields=None, raw=False, using=using
                )
            except Exception as exc:
                outcomes[index] = exc  # written: RowTracker.close deletes it by its channel name
    return outcomes


def _insert(rows: list[Socket], using: str) -> None:
    """INSERT ``rows`` (few statements, autocommit: each statement all or nothing) and set their pks."""
    if not rows:
        return
    meta = Socket._meta
    connection = connections[using]
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field and not getattr(f, "generated", False)]
    returning = meta.db_returning_fields
    if connection.features.can_return_rows_from_bulk_insert:
        size = max(1, min(len(rows), connection.ops.bulk_batch_size(fields, rows)))
    else:
        size = 1  # MySQL, MariaDB: a pk comes back for a one-row INSERT only
    manager: Any = Socket._base_manager  # QuerySet._insert: what Model.save runs, without its per-row overhead
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        returned = manager._insert(chunk, fields=fields, returning_fields=returning, using=using)
        for row, values in zip(chunk, returned, strict=True):
            for field, value in zip(returning, values, strict=True):
                setattr(row, field.attname, value)
            row._state.adding = False
            row._state.db = using


def _change_memberships(items: _Memberships) -> list[Exception | None]:
    outcomes: list[Exception | None] = []
    start = 0
    while start < len(items):
        join = items[start][2]
        end = start
        while end < len(items) and items[end][2] == join:
            end += 1
        run = items[start:end]
        if join:
            try:
                SocketGroup.objects.bulk_create(
                    [SocketGroup(socket_id=pk, name=name) for pk, name, _ in run], ignore_conflicts=True
                )
                outcomes.extend(None for _ in run)
            except Exception:
                outcomes.extend(_one_by_one(join_group, [(pk, name) for pk, name, _ in run]))
        else:
            outcomes.extend(_one_by_one(leave_group, [(pk, name) for pk, name, _ in run]))
        start = end
    return outcomes


def _delete_rows(items: _Deletes) -> list[Exception | None]:
    if not items:
        return []
    try:
        close_rows([pk for pk, _ in items], [pk for pk, joined in items if joined])
    except Exception:
        return _one_by_one(close_row, items)
    return [None] * len(items)


def _one_by_one(write: Callable[..., Any], items: Sequence[tuple[Any, ...]]) -> list[Exception | None]:
    outcomes: list[Exception | None] = []
    for args in items:
        try:
            write(*args)
        except Exception as exc:
            outcomes.append(exc)
        else:
            outcomes.append(None)
    return outcomes


class RowWriter:
    """Writes the Socket rows of a process in batches: one flush at a time, each taking what
    was queued while the previous one ran (group commit), so there is no added delay when the
    process is quiet and one statement for many rows under load.

    Each operation is a future its caller awaits; the flush runs in a thread and sets each
    future from its own outcome. On PostgreSQL (any backend but SQLite) the thread is the
    writer's own, with its own database connection, so rows do not queue behind sync
    handlers in asgiref's shared thread. SQLite allows one writer at a time: there the flush
    runs in the shared thread (``database_sync_to_async``), so that rows and sync handlers
    never write at once ("database is locked"), and memberships are written one by one in the
    caller's context (a sync handler's ``group_add`` holds that thread while it waits).
    """

    #: "own" or "shared" thread; None: by database vendor (shared for SQLite)
    thread: str | None = None

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inserts: list[tuple[Mapping[str, Any], str, asyncio.Future[Socket]]] = []
        self._memberships: list[tuple[int, str, bool, asyncio.Future[None]]] = []
        self._deletes: list[tuple[int, bool, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        #: flushes run and rows inserted, since the process started (for tests and benchmarks)
        self.flushes = 0
        self.inserted = 0

    def insert(self, scope: Mapping[str, Any], channel_name: str) -> asyncio.Future[Socket]:
        """Queue the row of a new connection; the future is the written row."""
        future: asyncio.Future[Socket] = self._ready().create_future()
        self._inserts.append((scope, channel_name, future))
        self._kick()
        return future

    async def join(self, pk: int, group: str) -> None:
        """Add a membership, after every write queued before it."""
        if self._thread() == "shared":
            # A sync handler's group_add comes here through async_to_sync while it holds the
            # shared thread: the write must run in that handler's thread, in the caller's context.
            await database_sync_to_async(join_group)(pk, group)
        else:
            await self._membership(pk, group, join=True)

    async def leave(self, pk: int, group: str) -> None:
        if self._thread() == "shared":
            await database_sync_to_async(leave_group)(pk, group)
        else:
            await self._membership(pk, group, join=False)

    def delete(self, pk: int, joined: bool) -> asyncio.Future[None]:
        """Queue a row's delete (with its memberships if it ever joined a group). Done even
        if the returned future is cancelled."""
        future: asyncio.Future[None] = self._ready().create_future()
        self._deletes.append((pk, joined, future))
        self._kick()
        return future

    def _membership(self, pk: int, group: str, join: bool) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._ready().create_future()
        self._memberships.append((pk, group, join, future))
        self._kick()
        return future

    def _ready(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new event loop (tests run one per test): what an old one queued died with it.
            self._loop = loop
            self._inserts, self._memberships, self._deletes = [], [], []
            self._task = None
        return loop

    def _kick(self) -> None:
        if self._task is None and self._loop is not None:
            # A context of its own: one inherited from a sync handler's async_to_sync call
            # would send every later flush to that handler's thread.
            self._task = self._loop.create_task(self._drain(), name="wsroute-row-writer", context=contextvars.Context())

    async def _drain(self) -> None:
        try:
            while self._inserts or self._memberships or self._deletes:
                inserts, self._inserts = self._inserts[:MAX_BATCH], self._inserts[MAX_BATCH:]
                memberships, self._memberships = self._memberships[:MAX_BATCH], self._memberships[MAX_BATCH:]
                deletes, self._deletes = self._deletes[:MAX_BATCH], self._deletes[MAX_BATCH:]
                inserts = [item for item in inserts if not item[2].cancelled()]  # nobody waits: write nothing
                loop = asyncio.get_running_loop()
                work = self._start(
                    write_batch,
                    [(scope, channel) for scope, channel, _ in inserts],
                    [(pk, group, join) for pk, group, join, _ in memberships],
                    [(pk, joined) for pk, joined, _ in deletes],
                    self._on_inserted(loop, inserts),
                )
                self.flushes += 1
                # The outcome is handed out by a callback, so a cancelled writer task leaves no waiter hanging.
                work.add_done_callback(functools.partial(_settle, self, inserts, memberships, deletes))
                await asyncio.wait({work})
        finally:
            self._task = None
            stopped = RuntimeError("the Socket row writer stopped")
            waiters: list[asyncio.Future[Any]] = [item[-1] for item in self._inserts]
            waiters += [item[-1] for item in self._memberships] + [item[-1] for item in self._deletes]
            for future in waiters:
                if not future.done():
                    future.set_exception(stopped)
            self._inserts, self._memberships, self._deletes = [], [], []

    def _on_inserted(
        self, loop: asyncio.AbstractEventLoop, inserts: list[tuple[Mapping[str, Any], str, asyncio.Future[Socket]]]
    ) -> Callable[[list[Socket | Exception]], None]:
        """What the flush's thread calls with the written rows: hands them out on the loop at once."""

        def inserted(rows: list[Socket | Exception]) -> None:
            loop.call_soon_threadsafe(_settle_inserts, self, inserts, rows)

        return inserted

    def _start(self, fn: Callable[..., _Outcomes], *args: Any) -> asyncio.Future[_Outcomes]:
        if self._thread() == "shared":
            shared: asyncio.Future[_Outcomes] = asyncio.ensure_future(database_sync_to_async(fn)(*args))
            return shared
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(_row_thread(), functools.partial(_on_row_thread, fn, *args))

    def _thread(self) -> str:
        if self.thread is not None:
            return self.thread
        return "shared" if connections[router.db_for_write(Socket)].vendor == "sqlite" else "own"


def _settle_inserts(
    writer: RowWriter,
    inserts: list[tuple[Mapping[str, Any], str, asyncio.Future[Socket]]],
    rows: Sequence[Socket | BaseException],
) -> None:
    for (_, _, future), row in zip(inserts, rows, strict=True):
        if future.done():
            continue  # settled as soon as the rows were written, or given up
        if isinstance(row, Socket):
            writer.inserted += 1
            future.set_result(row)
        else:
            future.set_exception(row)


def _settle(
    writer: RowWriter,
    inserts: list[tuple[Mapping[str, Any], str, asyncio.Future[Socket]]],
    memberships: list[tuple[int, str, bool, asyncio.Future[None]]],
    deletes: list[tuple[int, bool, asyncio.Future[None]]],
    work: asyncio.Future[_Outcomes],
) -> None:
    """Hand each waiter its own operation's outcome."""
    failure = RuntimeError("a Socket row flush was cancelled") if work.cancelled() else work.exception()
    if failure is not None:
        logger.error("a Socket row flush failed", exc_info=failure)
        rows: list[Socket | BaseException] = [failure] * len(inserts)
        changes: list[BaseException | None] = [failure] * (len(memberships) + len(deletes))
    else:
        written, changed, deleted = work.result()
        rows, changes = [*written], [*changed, *deleted]
    _settle_inserts(writer, inserts, rows)
    waiters = [item[-1] for item in memberships] + [item[-1] for item in deletes]
    for done, error in zip(waiters, changes, strict=True):
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


#: this process's writer
row_writer = RowWriter()


class RowTracker:
    """One connection's ``Socket`` row and memberships, deleted on every exit, cancellation included.

    The row is written by the process's ``row_writer``, with the rows of other connections
    opening at the same time; if the consumer is cancelled while it waits, the write still
    finishes, so ``close`` waits for it and then deletes whatever it wrote.
    """

    __slots__ = ("_closed", "_joined", "_opening", "_retained", "channel_name", "record")

    def __init__(self, channel_name: str) -> None:
        self.channel_name = channel_name
        self.record: Socket | None = None
        self._opening: asyncio.Future[Socket] | None = None
        self._joined = False
        self._retained = False
        self._closed = False

    async def open(self, scope: Mapping[str, Any]) -> Socket:
        self._opening = row_writer.insert(scope, self.channel_name)
        record: Socket = await asyncio.shield(self._opening)  # cancelled here: close() still sees the write
        self.record = record
        liveness.retain()
        self._retained = True
        return record

    async def join(self, group: str) -> None:
        if self.record is not None and not self._closed:
            self._joined = True
            await row_writer.join(self.record.pk, group)

    async def leave(self, group: str) -> None:
        if self.record is not None and not self._closed:
            await row_writer.leave(self.record.pk, group)

    async def join_topic(self, topic: str, key: str, meta: Any) -> dict[str, Any]:
        """Record the topic membership (announcing ``key`` if it is new there); the topic's presence.

        Not batched: each change to a topic's members is its own transaction, under the
        topic's lock, so that presence diffs go out in the order of the changes."""
        assert self.record is not None
        self._joined = True
        state: dict[str, Any] = await database_sync_to_async(membership.join)(
            self.record.pk, self.channel_name, topic, key, meta
        )
        return state

    async def leave_topics(self, topics: list[str]) -> None:
        if self.record is not None and not self._closed:
            await database_sync_to_async(membership.leave)(self.record.pk, topics)

    async def close(self) -> None:
        """Delete the row (once). Must run even when the consumer was cancelled."""
        opening = self._opening
        if self._closed or opening is None:
            return
        self._closed = True
        try:
            try:
                record: Socket | None = await opening
            except SocketTableMissing:
                return  # nothing was written, and there is nothing to delete from
            except asyncio.CancelledError:
                if not opening.cancelled():
                    raise  # this task was cancelled, not the write
                record = None
            except Exception:
                record = None  # the write failed; make sure nothing of it stays
            if record is not None:
                await asyncio.shield(row_writer.delete(record.pk, self._joined))
            else:
                await database_sync_to_async(close_rows_of_channel)(self.channel_name)
        finally:
            if self._retained:
                self._retained = False
                liveness.release()
