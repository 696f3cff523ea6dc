"""Sync handlers that use the ORM: asgiref's one shared thread against bounded thread pools.

    python bench/sync_handlers.py                 SQLite and PostgreSQL, every runner (~5 minutes)
    python bench/sync_handlers.py --quick         shorter parts (~2 minutes), noisier
    python bench/sync_handlers.py --runners shared,4 --sockets 1000 --postgres-url ''

A wsroute ``JSONWebSocket`` (``persist = False``, flood control off) with sync handlers, each
running one ORM query on ``auth_user`` (100 rows): ``read`` (``filter(pk=k).exists()``) and
``write`` (``filter(pk=k).update(last_login=now)``), the default ``--queries``; and two more
to show when threads help or hurt: ``slow``, one query the database spends ~4 ms on
(``pg_sleep``; on SQLite a recursive CTE, run without the GIL), and ``atomic``, a read then a
write in one ``transaction.atomic()`` (on SQLite, transactions of several threads that read
before they write fail with "database is locked" instead of waiting). daphne serves it, one
process per (database, runner); the runner is how sync handlers run:

* ``shared``: ``channels.db.database_sync_to_async``, asgiref's one thread-sensitive thread
  for the whole process (wsroute's behaviour today);
* ``2``, ``4``, ``8``, ``16``: ``wsroute_django.workers.SyncWorkers(n)``, a
  ``ThreadPoolExecutor(max_workers=n)``, database connections closed around each call as
  ``database_sync_to_async`` does.

The bench app installs the runner where ``SocketConsumer`` passes ``run_sync`` to its
``Dispatcher`` (what ``WSROUTE["SYNC_WORKERS"]`` would do). A client in this process opens
``--sockets`` WebSockets (1,000 by default) and, for each part, lets the first N of them (100,
then all) send requests in a closed loop: send, wait for the reply, send again, for
``--seconds``. Reported per part: replies/s, the p50 and p99 of the request latency seen by
the client, error frames (``server_error``: on SQLite, "database is locked" from writes in
several threads), and the server's CPU share. ``CONN_MAX_AGE = 60``; SQLite in WAL mode with
``synchronous=NORMAL`` and Django's default 5 s busy timeout.

A report, not a test: exit 0 whether or not a pool helps (1 when the benchmark could not run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _harness import HOST, Server, ServerError, package_version, running

APP = "sync_handlers:application"
SETTINGS_MODULE = "churn_settings"  # its database comes from the environment, as for churn.py
RUNNER_ENV = "WSROUTE_BENCH_SYNC_RUNNER"
USERS = 100
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/wsroute_bench_sync"
PATH = "/sync/"
QUERIES = ("read", "write", "slow", "atomic")
#: ``slow``: a query the database spends about 4 ms on (SQLite runs it without the GIL)
SLOW_QUERY = {
    "postgresql": "SELECT pg_sleep(%s)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %s) SELECT count(*) FROM c",
}
SLOW_ARGUMENT = {"postgresql": 0.004, "sqlite": 20000}


# ---------------------------------------------------------------------------------------------
# The server side (imported by daphne as sync_handlers:application)


def build_application() -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    import django

    django.setup()
    from channels.db import database_sync_to_async
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.contrib.auth import get_user_model
    from django.db import close_old_connections, connection, transaction
    from django.urls import path
    from django.utils import timezone

    import wsroute_django.consumer as consumer_module
    from wsroute_django import JSONWebSocket
    from wsroute_django.workers import SyncWorkers

    runner = os.environ.get(RUNNER_ENV, "shared")
    # churn_settings puts the runner in WSROUTE["SYNC_WORKERS"], which SocketConsumer follows
    # once it passes wsroute_django.workers.run_sync to its Dispatcher. Until then it passes
    # this name, so the runner is installed there before the consumer class is created.
    if hasattr(consumer_module, "database_sync_to_async"):
        consumer_module.database_sync_to_async = (
            database_sync_to_async if runner == "shared" else SyncWorkers(int(runner))
        )
    user_model = get_user_model()
    if user_model.objects.count() < USERS:
        user_model.objects.bulk_create([user_model(username=f"bench{n}") for n in range(USERS)], ignore_conflicts=True)
    pks = list(user_model.objects.order_by("pk").values_list("pk", flat=True)[:USERS])
    close_old_connections()

    class SyncBench(JSONWebSocket):
        persist = False
        rate_limit = None

        def on_read(self, event: dict[str, Any]) -> dict[str, Any]:
            found = user_model.objects.filter(pk=pks[event["k"] % len(pks)]).exists()
            return {"event": "done", "found": found}

        def on_write(self, event: dict[str, Any]) -> dict[str, Any]:
            changed = user_model.objects.filter(pk=pks[event["k"] % len(pks)]).update(last_login=timezone.now())
            return {"event": "done", "found": bool(changed)}

        def on_slow(self, event: dict[str, Any]) -> dict[str, Any]:
            with connection.cursor() as cursor:  # a query that keeps the database busy ~4 ms
                cursor.execute(SLOW_QUERY[connection.vendor], [SLOW_ARGUMENT[connection.vendor]])
                cursor.fetchone()
            return {"event": "done", "found": True}

        def on_atomic(self, event: dict[str, Any]) -> dict[str, Any]:
            pk = pks[event["k"] % len(pks)]
            with transaction.atomic():  # read, then write, in one transaction
                found = user_model.objects.filter(pk=pk).exists()
                user_model.objects.filter(pk=pk).update(last_login=timezone.now())
            return {"event": "done", "found": found}

    return ProtocolTypeRouter({"websocket": URLRouter([path(PATH.strip("/") + "/", SyncBench.as_asgi())])})


def __getattr__(name: str) -> Any:  # daphne's import of sync_handlers:application lands here
    if name == "application":
        app = build_application()
        globals()["application"] = app
        return app
    raise AttributeError(name)


# ---------------------------------------------------------------------------------------------
# The client side


@dataclass(frozen=True)
class Part:
    db: str
    runner: str
    query: str  # one of QUERIES
    sockets: int


@dataclass
class Outcome:
    replies: int = 0
    errors: int = 0
    wall_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    server_cpu_s: float | None = None

    @property
    def rate(self) -> float:
        return self.replies / self.wall_s if self.wall_s else 0.0

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class BenchServer(Server):
    def __init__(self, db_key: str, db_url: str, runner: str, log_dir: Path) -> None:
        super().__init__(f"daphne-{db_key}-{runner}", "inmemory", log_dir, None)
        self.db_url = db_url
        self.runner = runner

    def command(self) -> list[str]:
        return [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(self.port), "-v", "0", APP]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.update(
            {
                "WSROUTE_BENCH_DATABASE_URL": self.db_url,
                "WSROUTE_BENCH_CONN_MAX_AGE": "60",
                "WSROUTE_BENCH_SQLITE_SYNCHRONOUS": "NORMAL" if self.db_url.startswith("sqlite") else "",
                RUNNER_ENV: self.runner,
            }
        )
        return env


async def closed_loop(ws: Any, query: str, k: int, stop_at: float, outcome: Outcome, warm_until: float) -> None:
    request = f'{{"event": "{query}", "k": {k}}}'
    while True:
        start = time.perf_counter()
        if time.monotonic() >= stop_at:
            return
        await ws.send(request)
        reply = await ws.recv()
        if time.monotonic() < warm_until:
            continue
        outcome.latencies.append(time.perf_counter() - start)
        if '"done"' in reply:
            outcome.replies += 1
        else:
            outcome.errors += 1
            outcome.replies += 1


async def run_part(server: BenchServer, sockets: list[Any], part: Part, seconds: float, warmup: float) -> Outcome:
    outcome = Outcome()
    now = time.monotonic()
    warm_until = now + warmup
    stop_at = warm_until + seconds
    loops = [
        asyncio.ensure_future(closed_loop(ws, part.query, n, stop_at, outcome, warm_until))
        for n, ws in enumerate(sockets[: part.sockets])
    ]
    await asyncio.sleep(max(0.0, warm_until - time.monotonic()))
    cpu = server.cpu_seconds()
    start = time.monotonic()
    async with asyncio.timeout(seconds + 60):
        await asyncio.gather(*loops)
    outcome.wall_s = time.monotonic() - start
    after = server.cpu_seconds()
    outcome.server_cpu_s = None if cpu is None or after is None else after - cpu
    return outcome


async def measure_server(
    server: BenchServer,
    db_key: str,
    sockets_total: int,
    queries: Sequence[str],
    counts: Sequence[int],
    seconds: float,
    warmup: float,
) -> dict[Part, Outcome]:
    from websockets.asyncio.client import connect

    uri = f"ws://{HOST}:{server.port}{PATH}"
    opened: list[Any] = []
    results: dict[Part, Outcome] = {}
    try:
        for start in range(0, sockets_total, 100):  # 100 at a time: this is not a handshake test
            opened += await asyncio.gather(
                *(
                    connect(uri, compression=None, ping_interval=None, open_timeout=30, close_timeout=2)
                    for _ in range(min(100, sockets_total - start))
                )
            )
        for query in queries:
            for count in counts:
                part = Part(db_key, server.runner, query, count)
                results[part] = await run_part(server, opened, part, seconds, warmup)
                report_line(part, results[part])
    finally:
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
    return results


def report_line(part: Part, outcome: Outcome) -> None:
    cpu = "n/a" if outcome.server_cpu_s is None else f"{outcome.server_cpu_s / outcome.wall_s:.0%}"
    print(
        f"  {part.db:<8} {part.runner:>6} {part.query:<5} {part.sockets:>5} sockets: "
        f"{outcome.rate:>7.0f} replies/s  p50 {outcome.quantile(0.5) * 1e3:>7.1f} ms  "
        f"p99 {outcome.quantile(0.99) * 1e3:>7.1f} ms  errors {outcome.errors:>5}  server CPU {cpu:>5}",
        flush=True,
    )


def prepare(db_key: str, url: str) -> None:
    """Create (PostgreSQL) and migrate the database, with the settings the servers use."""
    from churn import Database, Options, migrate, prepare_postgres

    options = Options(conn_max_age="60", sqlite_journal="wal")
    if db_key == "postgres":
        prepare_postgres(url, options)
        return
    migrate(Database("sqlite", url), options)
    with contextlib.closing(sqlite3.connect(urlsplit(url).path)) as conn:
        conn.execute("PRAGMA journal_mode=wal").fetchone()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2 s parts instead of 5 s")
    parser.add_argument("--runners", default="shared,2,4,8,16", help="comma-separated: shared and pool sizes")
    parser.add_argument("--sockets", type=int, default=1000, help="sockets opened per server (default 1000)")
    parser.add_argument("--counts", default="100,1000", help="active sockets per part (default 100,1000)")
    parser.add_argument(
        "--queries", default="read,write", help=f"handlers to call, of {', '.join(QUERIES)} (default read,write)"
    )
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="'' skips PostgreSQL")
    parser.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    seconds, warmup = (2.0, 0.5) if args.quick else (5.0, 1.0)
    runners = [runner.strip() for runner in args.runners.split(",") if runner.strip()]
    counts = [min(int(count), args.sockets) for count in args.counts.split(",")]
    queries = [query.strip() for query in args.queries.split(",") if query.strip()]
    if not set(queries) <= set(QUERIES):
        parser.error(f"--queries: choose from {', '.join(QUERIES)}")
    print(
        f"wsroute sync handlers: {', '.join(runners)} runners; {args.sockets} sockets per server, parts of "
        f"{counts} active sockets, {seconds:.0f} s each after {warmup:.1f} s warm-up"
    )
    print(
        f"Python {sys.version.split()[0]}, django {package_version('django')}, channels "
        f"{package_version('channels')}, asgiref {package_version('asgiref')}, daphne {package_version('daphne')}, "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs"
    )
    results: dict[Part, Outcome] = {}
    with tempfile.TemporaryDirectory(prefix="wsroute-sync-") as tmp:
        directory = Path(tmp)
        databases: list[tuple[str, str]] = []
        if args.sqlite:
            databases.append(("sqlite", f"sqlite:///{directory / 'sync.sqlite3'}"))
        if args.postgres_url:
            databases.append(("postgres", args.postgres_url))
        try:
            for db_key, url in databases:
                prepare(db_key, url)
        except Exception as exc:
            print(f"ERROR: could not prepare the databases: {exc}")
            return 1
        for db_key, url in databases:
            for runner in runners:
                server = BenchServer(db_key, url, runner, directory)
                try:
                    with running(server):
                        results.update(
                            asyncio.run(measure_server(server, db_key, args.sockets, queries, counts, seconds, warmup))
                        )
                except (ServerError, OSError, TimeoutError) as exc:
                    print(f"  {db_key} {runner}: ERROR {type(exc).__name__}: {exc}\n{server.log_tail()}")
    summary(results)
    return 0 if results else 1


def summary(results: dict[Part, Outcome]) -> None:
    print("\nreplies/s as a ratio to the shared thread (same database, query and sockets):")
    for part, outcome in results.items():
        if part.runner == "shared":
            continue
        base = results.get(Part(part.db, "shared", part.query, part.sockets))
        if base is None or not base.rate:
            continue
        p99 = outcome.quantile(0.99) / base.quantile(0.99)
        print(
            f"  {part.db:<8} {part.runner:>6} {part.query:<5} {part.sockets:>5} sockets: "
            f"{outcome.rate / base.rate:>5.2f}x replies/s, p99 {p99:>5.2f}x"
        )


if __name__ == "__main__":
    sys.exit(main())
