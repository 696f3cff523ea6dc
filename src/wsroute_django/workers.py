"""Where sync handlers run: asgiref's one shared thread, or a bounded pool of threads.

Channels runs sync code through ``database_sync_to_async``: one thread for the whole process
(asgiref's "thread-sensitive" mode), shared with the async ORM and every other sync hop. It
is safe for code that is not thread-safe, and it is also a ceiling: at most one sync
handler runs at a time, whatever the number of sockets.

``SyncWorkers(n)`` is a ``SyncRunner`` (``wsroute.types.SyncRunner``) that runs sync callables
on a ``ThreadPoolExecutor(max_workers=n)`` instead, with what ``database_sync_to_async``
does around each call: stale database connections are closed before and after (Django's
``close_old_connections``), the caller's context variables are copied in, and
``async_to_sync`` inside the call (``socket.send_json(...)`` from a sync handler) gets back to
the consumer's event loop. Each pool thread keeps its own database connection, so a pool of
``n`` holds up to ``n`` connections per process (with ``CONN_MAX_AGE`` above 0).

Per-socket ordering needs nothing here: a socket awaits each handler before it reads its
next frame, so one socket never has two handlers running; the pool runs the handlers of
different sockets at once.

``run_sync`` is the runner consumers get: it reads ``WSROUTE["SYNC_WORKERS"]`` when a
handler is called (``None``, the default: asgiref's shared thread; a positive int: a pool of
that many threads, one pool per size for the process).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import DatabaseSyncToAsync, database_sync_to_async
from django.db import connections

from wsroute_django.conf import get_settings

__all__ = ["SyncWorkers", "close_pool_connections", "run_sync", "sync_executor"]

_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(size: int) -> ThreadPoolExecutor:
    """The process's pool of ``size`` threads (threads start on first use)."""
    with _pools_lock:
        pool = _pools.get(size)
        if pool is None:
            pool = _pools[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"wsroute-sync-{size}")
        return pool


def sync_executor() -> ThreadPoolExecutor | None:
    """The pool ``WSROUTE["SYNC_WORKERS"]`` asks for, or None for asgiref's shared thread."""
    size = get_settings().SYNC_WORKERS
    return None if size is None else _pool(size)


def _on(executor: ThreadPoolExecutor, fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    # channels' DatabaseSyncToAsync closes old connections around the call; with an executor
    # it is asgiref's SyncToAsync in its non-thread-sensitive mode (contexts copied, and
    # async_to_sync in the thread reaches the calling loop).
    runner: Callable[..., Awaitable[Any]] = DatabaseSyncToAsync(fn, thread_sensitive=False, executor=executor)
    return runner


def close_pool_connections(timeout: float = 10.0) -> None:
    """Close the database connections every pool thread holds (at shutdown, or between tests):
    each thread of each pool closes its own, the others waiting at a barrier meanwhile so that
    no thread takes two turns."""

    def close_mine(barrier: threading.Barrier) -> None:
        for connection in connections.all(initialized_only=True):
            connection.close()
        barrier.wait(timeout)

    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        size = pool._max_workers  # a ThreadPoolExecutor does not say it otherwise
        barrier = threading.Barrier(size)
        for future in [pool.submit(close_mine, barrier) for _ in range(size)]:
            future.result(timeout)


class SyncWorkers:
    """A ``SyncRunner`` on a pool of ``max_workers`` threads, created when first used."""

    def __init__(self, max_workers: int) -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers must be a positive int, got {max_workers!r}")
        self.max_workers = max_workers

    @property
    def executor(self) -> ThreadPoolExecutor:
        return _pool(self.max_workers)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        return _on(self.executor, fn)

    def __repr__(self) -> str:
        return f"SyncWorkers({self.max_workers})"


def run_sync(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """``fn`` as an async callable on the runner ``WSROUTE["SYNC_WORKERS"]`` names, read per call
    (so ``override_settings`` works in tests, and classes may be defined before settings are read)."""
    shared = database_sync_to_async(fn)
    pooled: dict[ThreadPoolExecutor, Callable[..., Awaitable[Any]]] = {}

    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        executor = sync_executor()
        if executor is None:
            return await shared(*args, **kwargs)
        call = pooled.get(executor)
        if call is None:
            call = pooled[executor] = _on(executor, fn)
        return await call(*args, **kwargs)

    return run
