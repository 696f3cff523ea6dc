"""Socket rows are written in batches per process: fewer statements than rows, one bad row
fails only its own connection, cancellation leaves nothing, and a socket is in the table
before its connect hook and its first message run."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models.signals import post_save, pre_save

from tests.rows.conftest import DISCONNECT_TIMEOUT, TIMEOUT, QueryLog, Sockets, rows
from wsroute_django import JSONWebSocket
from wsroute_django import row_writer as socket_rows
from wsroute_django.consumer import CLOSE_INTERNAL_ERROR
from wsroute_django.models import Socket

pytestmark = pytest.mark.django_db(transaction=True)

SOCKETS = 40
SQLITE = connection.vendor == "sqlite"


def socket_inserts(queries: list[str]) -> list[str]:
    return [sql for sql in queries if sql.startswith("INSERT") and '"wsroute_socket"' in sql]


def socket_deletes(queries: list[str]) -> list[str]:
    return [sql for sql in queries if sql.startswith("DELETE") and '"wsroute_socket"' in sql]


class Seen(JSONWebSocket):
    """Says whether its own row was in the table when its connect hook and a handler ran."""

    persist = True

    async def on_connect(self) -> None:
        self.in_table_at_connect = await Socket.objects.filter(channel_name=self.channel_name).aexists()

    async def on_seen(self, event: dict[str, Any]) -> dict[str, Any]:
        in_table = await Socket.objects.filter(channel_name=self.channel_name).aexists()
        record = self.record
        return {
            "event": "seen",
            "at_connect": self.in_table_at_connect,
            "now": in_table,
            "pk": None if record is None else record.pk,
        }


class Plain(JSONWebSocket):
    """No connect hook: the row is still written before the first message is handled."""

    persist = True

    def on_who(self, event: dict[str, Any]) -> dict[str, Any]:  # sync: a presence query in the worker thread
        return {"event": "who", "here": list(Socket.objects.on_path(self.path).values_list("channel_name", flat=True))}


async def test_simultaneous_connects_share_insert_and_delete_statements(sockets: Sockets, query_log: QueryLog) -> None:
    flushes_before = socket_rows.row_writer.flushes
    with query_log.capture() as connecting:
        opened = await asyncio.gather(*(sockets.connect(Seen, f"/burst/{n}/") for n in range(SOCKETS)))
    inserts = socket_inserts(connecting)
    assert 1 <= len(inserts) < SOCKETS / 2, f"{len(inserts)} INSERT statements for {SOCKETS} rows"
    assert socket_rows.row_writer.flushes - flushes_before < SOCKETS / 2

    # every socket has its own row, the one it calls self.record
    written = {row.path: row.pk for row in await rows()}
    assert len(written) == SOCKETS
    for n, communicator in enumerate(opened):
        await communicator.send_json_to({"event": "seen"})
        reply = await communicator.receive_json_from(timeout=TIMEOUT)
        assert reply == {"event": "seen", "at_connect": True, "now": True, "pk": written[f"/burst/{n}/"]}

    with query_log.capture() as closing:
        await asyncio.gather(*(sockets.disconnect(communicator) for communicator in list(opened)))
    deletes = socket_deletes(closing)
    assert 1 <= len(deletes) < SOCKETS / 2, f"{len(deletes)} DELETE statements for {SOCKETS} rows"
    assert await rows() == []


async def test_a_socket_is_in_the_table_when_its_first_message_is_handled(sockets: Sockets) -> None:
    opened = await asyncio.gather(*(sockets.connect(Plain, "/plain/") for _ in range(10)))
    for communicator in opened:
        await communicator.send_json_to({"event": "who"})
    replies = [await communicator.receive_json_from(timeout=TIMEOUT) for communicator in opened]
    channels = {row.channel_name for row in await rows(path="/plain/")}
    assert len(channels) == 10
    for reply in replies:
        assert set(reply["here"]) <= channels
    # each socket sees at least itself: the reply order above does not say which is which
    assert all(reply["here"] for reply in replies)


# -- one bad row ---------------------------------------------------------------------------------


async def connect_expecting_close(path: str, user: Any) -> int:
    communicator = WebsocketCommunicator(Seen.as_asgi(), path)
    communicator.scope["user"] = user
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected  # accepted first, so that the browser sees the close code
        closed = await communicator.receive_output(timeout=TIMEOUT)
        assert closed["type"] == "websocket.close", closed
        await communicator.send_input({"type": "websocket.disconnect", "code": closed["code"]})
        return int(closed["code"])
    finally:
        await communicator.wait(DISCONNECT_TIMEOUT)


async def test_a_row_that_cannot_be_written_fails_only_its_own_socket(sockets: Sockets, query_log: QueryLog) -> None:
    """A user deleted between authentication and the row write: a foreign key violation."""
    ghost = get_user_model()(pk=10**9, username="ghost")  # authenticated, but no auth_user row
    with query_log.capture() as queries:
        results = await asyncio.gather(
            *(sockets.connect(Seen, f"/good/{n}/") for n in range(10)),
            connect_expecting_close("/ghost/", ghost),
        )
    assert results[-1] == CLOSE_INTERNAL_ERROR
    assert sorted(row.path for row in await rows()) == sorted(f"/good/{n}/" for n in range(10))
    assert len(socket_inserts(queries)) >= 2  # the batch, then its rows one at a time

    for communicator in results[:-1]:
        await communicator.send_json_to({"event": "seen"})
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["now"] is True
    await sockets.close_all()
    assert await rows() == []


@contextmanager
def failing_receiver(signal: Any, path: str) -> Iterator[None]:
    def fail(sender: type[Socket], instance: Socket, **kwargs: Any) -> None:
        if instance.path == path:
            raise RuntimeError(f"refused by a {'pre' if signal is pre_save else 'post'}_save receiver")

    signal.connect(fail, sender=Socket, weak=False, dispatch_uid="test-row-writer-fail")
    try:
        yield
    finally:
        signal.disconnect(sender=Socket, dispatch_uid="test-row-writer-fail")


@pytest.mark.parametrize("signal", [pre_save, post_save], ids=["pre_save", "post_save"])
async def test_save_signals_are_sent_and_a_failing_receiver_fails_one_socket(sockets: Sockets, signal: Any) -> None:
    with failing_receiver(signal, "/refused/"):
        results = await asyncio.gather(
            *(sockets.connect(Seen, f"/ok/{n}/") for n in range(5)),
            connect_expecting_close("/refused/", None),
        )
    assert results[-1] == CLOSE_INTERNAL_ERROR
    # post_save fails after the INSERT: the row was written, and the failed connection deleted it
    assert sorted(row.path for row in await rows()) == sorted(f"/ok/{n}/" for n in range(5))


async def test_a_flush_that_fails_as_a_whole_fails_its_sockets_and_the_next_flush_works(
    sockets: Sockets, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket_rows.write_batch

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(socket_rows, "write_batch", broken)
    codes = await asyncio.gather(*(connect_expecting_close(f"/down/{n}/", None) for n in range(3)))
    assert codes == [CLOSE_INTERNAL_ERROR] * 3

    monkeypatch.setattr(socket_rows, "write_batch", real)
    await sockets.connect(Seen, "/up/")
    assert [row.path for row in await rows()] == ["/up/"]


# -- cancellation ------------------------------------------------------------------------------------


@contextmanager
def row_writes_held() -> Iterator[tuple[threading.Event, threading.Event]]:
    """Hold every flush inside its thread (at the first row's pre_save) until ``release`` is set."""
    writing, release = threading.Event(), threading.Event()

    def hold(sender: type[Socket], instance: Socket, **kwargs: Any) -> None:
        writing.set()
        release.wait(TIMEOUT)

    pre_save.connect(hold, sender=Socket, weak=False, dispatch_uid="test-row-writer-hold")
    try:
        yield writing, release
    finally:
        release.set()
        pre_save.disconnect(sender=Socket, dispatch_uid="test-row-writer-hold")


async def test_sockets_cancelled_while_their_batch_is_written_leave_no_row() -> None:
    with row_writes_held() as (writing, release):
        communicators = [WebsocketCommunicator(Seen.as_asgi(), f"/cancelled/{n}/") for n in range(5)]
        for communicator in communicators:
            await communicator.send_input({"type": "websocket.connect"})
        assert await asyncio.to_thread(writing.wait, TIMEOUT), "the batch never started"
        for communicator in communicators:
            communicator.future.cancel()  # what daphne does to a client that left mid-handshake
        await asyncio.sleep(0.05)
        release.set()
        for communicator in communicators:
            with contextlib.suppress(asyncio.CancelledError):
                await communicator.wait(DISCONNECT_TIMEOUT)

    async def gone() -> bool:
        return not await Socket.objects.filter(path__startswith="/cancelled/").aexists()

    for _ in range(int(TIMEOUT / 0.02)):
        if await gone():
            break
        await asyncio.sleep(0.02)
    assert await gone()
    assert socket_rows.liveness.sockets == 0


async def test_a_delete_whose_waiter_is_cancelled_still_happens() -> None:
    row = await socket_rows.row_writer.insert({"path": "/orphan/"}, "specific.orphan!1")
    assert [found.pk for found in await rows()] == [row.pk]

    waiter = socket_rows.row_writer.delete(row.pk, joined=False)
    waiter.cancel()

    for _ in range(int(TIMEOUT / 0.02)):
        if not await rows():
            break
        await asyncio.sleep(0.02)
    assert await rows() == []


# -- which thread ---------------------------------------------------------------------------------------


class Blocker(JSONWebSocket):
    """A sync handler that holds its worker thread until the test releases it."""

    persist = True
    entered = threading.Event()
    release = threading.Event()

    def on_block(self, event: dict[str, Any]) -> dict[str, Any]:
        type(self).entered.set()
        type(self).release.wait(TIMEOUT)
        return {"event": "unblocked"}


@pytest.mark.skipif(SQLITE, reason="on SQLite rows are written in the shared thread, one writer at a time")
async def test_rows_do_not_queue_behind_a_busy_sync_handler(sockets: Sockets) -> None:
    Blocker.entered.clear()
    Blocker.release.clear()
    busy = await sockets.connect(Blocker, "/busy/")
    await busy.send_json_to({"event": "block"})
    assert await asyncio.to_thread(Blocker.entered.wait, TIMEOUT)
    try:
        # The shared thread is held (so the test cannot query the table until it is released):
        # a new socket still gets its row, written in the writer's own thread, and is accepted.
        async with asyncio.timeout(TIMEOUT / 2):
            meanwhile = await sockets.connect(Plain, "/meanwhile/")
        assert not Blocker.release.is_set()
    finally:
        Blocker.release.set()
    assert await busy.receive_json_from(timeout=TIMEOUT) == {"event": "unblocked"}
    assert {row.path for row in await rows()} == {"/busy/", "/meanwhile/"}
    await meanwhile.send_json_to({"event": "who"})
    assert len((await meanwhile.receive_json_from(timeout=TIMEOUT))["here"]) == 1


def synchronous_commit(close: bool = True) -> str:
    """This thread's connection's ``synchronous_commit`` (PostgreSQL); the connection is closed
    after, as a thread other than the test's own must not keep the test database open."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            (value,) = cursor.fetchone()
        return str(value)
    finally:
        if close:
            connection.close()


@pytest.mark.skipif(SQLITE, reason="synchronous_commit is PostgreSQL's")
async def test_only_the_row_thread_commits_without_waiting_for_the_disk(sockets: Sockets) -> None:
    await sockets.connect(Plain, "/soft-state/")
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(socket_rows._row_thread(), synchronous_commit) == "off"
    # the project's own connections keep PostgreSQL's durable commits
    assert await database_sync_to_async(synchronous_commit)(close=False) == "on"
    assert await asyncio.to_thread(synchronous_commit) == "on"
