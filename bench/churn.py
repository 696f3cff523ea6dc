"""Connect/disconnect churn benchmark: wsroute with Socket rows against a stock Channels consumer.

    python bench/churn.py            full run (under 2 minutes)
    python bench/churn.py --quick    under 30 seconds, noisier

The performance target asks for a connect/disconnect rate with ``Socket`` rows of at least 0.9x the
stock consumer's without rows (``raw``). One connection here is: open a WebSocket, send ``{"type": "PING"}``, read the
``PONG`` reply, close. Several clients (``websockets`` asyncio client, in this process) do that
in a loop at once, each a fixed number of times per variant per round. The app is
``bench/churn_app.py`` (settings: ``bench/churn_settings.py``) served by daphne on 127.0.0.1:

* ``raw``: a stock ``AsyncJsonWebsocketConsumer`` answering PING (the baseline);
* ``wsroute_norows``: a wsroute ``RoutedSocketHandler`` with ``persist = False``;
* ``wsroute_rows_sqlite``: the same with ``persist = True`` (a ``Socket`` row inserted on
  connect, deleted on disconnect, by the process's row writer, ``wsroute_django.row_writer.RowWriter``,
  which batches what connections queue meanwhile; on SQLite it writes in asgiref's shared
  thread) on SQLite, a file in a temporary directory, in WAL journal mode with
  ``synchronous=NORMAL`` by default;
* ``wsroute_rows_postgres``: ``persist = True`` on PostgreSQL (``--postgres-url``; the database
  is created if missing; the row writer has a thread and a connection of its own), only when
  the server is reachable; otherwise a ``skipped`` line.

The database is a settings-level choice, so there is one daphne process per database, each
serving ``raw`` as well: every rows variant is compared with ``raw`` on its own server, both
measured in the same run. Each database is migrated first (``python -m django migrate`` in a
subprocess with the bench settings). ``CONN_MAX_AGE = 60`` is used, as wsroute's check
wsroute.W001 asks of projects with Socket rows; ``--conn-max-age 0`` shows Django's default
(a new database connection for every hop). All consumers run under the in-memory channel layer (a persisted row records
the consumer's channel name, which Channels only gives a consumer under a layer).

Method, as in ``bench/echo.py`` (whose server and reporting helpers this reuses): a round runs
every variant of every server once, in an order rotated each round. Reported per variant: the
median connections/s over rounds, the median per-round ratio to ``raw`` on the same server (with
its interquartile range), PASS/MISS of the rows variants against 0.9x, the server's CPU time per
connection (the daphne process, all threads, from /proc; PostgreSQL's own processes are not
in it) and this client's CPU share of the wall time. After each rows variant's part, once more
after the last round and again after the servers stopped, the ``Socket`` rows left are
counted: they must drain to 0.

``--profile DIR`` runs each server under cProfile (its main thread only: the row writes run in
a worker thread and are not in it), writing ``DIR/daphne-<db>.prof``.

This is a report, not a test: it exits 0 whether targets are met or not (1 when the benchmark
itself could not run, 130 when interrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from _harness import (
    BENCH_DIR,
    HOST,
    ROUND_TIMEOUT_S,
    Measuring,
    Sample,
    Samples,
    Server,
    ServerError,
    cpu_per_message,
    package_version,
    running,
    start_report,
    verdict,
)
from psycopg import sql
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

APP = "churn_app:application"
SETTINGS_MODULE = "churn_settings"
TARGET = 0.9
PING = '{"type": "PING"}'
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/wsroute_bench"
#: ``Socket._meta.db_table`` (app label ``wsroute``); read with plain drivers, no Django here
SOCKET_TABLE = "wsroute_socket"

# the environment churn_settings reads
DATABASE_URL_ENV = "WSROUTE_BENCH_DATABASE_URL"
SQLITE_SYNCHRONOUS_ENV = "WSROUTE_BENCH_SQLITE_SYNCHRONOUS"
CONN_MAX_AGE_ENV = "WSROUTE_BENCH_CONN_MAX_AGE"

#: seconds ``migrate`` may take
MIGRATE_TIMEOUT_S = 60.0
#: seconds to reach PostgreSQL before its variant is skipped
PG_CONNECT_TIMEOUT_S = 3
#: seconds the Socket rows of a rows variant get to drain after its part, or after the last round
DRAIN_TIMEOUT_S = 10.0
#: seconds between row counts while draining
DRAIN_POLL_S = 0.02


@dataclass(frozen=True)
class Options:
    conn_max_age: str  # "0", "60", "none"
    sqlite_journal: str  # "wal" or "delete"

    @property
    def sqlite_synchronous(self) -> str:
        # NORMAL is safe with WAL (a crash may lose the last commits, never corrupt the file)
        return "NORMAL" if self.sqlite_journal == "wal" else ""


@dataclass(frozen=True)
class Database:
    key: str  # "sqlite" or "postgres": also the server's name
    url: str

    @property
    def sqlite_path(self) -> str:
        return urlsplit(self.url).path

    def count_rows(self) -> int:
        """``Socket`` rows in the table now.

        A fresh connection each time, closed at once: a SQLite connection held open here would
        change the server's costs (its closes would no longer be the last, which checkpoint WAL).
        """
        if self.key == "sqlite":
            with contextlib.closing(sqlite3.connect(self.sqlite_path, timeout=5)) as conn:
                row = conn.execute(f"SELECT COUNT(*) FROM {SOCKET_TABLE}").fetchone()
        else:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S) as pg:
                row = pg.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(SOCKET_TABLE))).fetchone()
        return int(row[0]) if row is not None else 0


@dataclass(frozen=True)
class Variant:
    name: str
    db: str  # the server (database configuration) serving it
    path: str
    #: writes Socket rows: judged against the target, rows drained after each part
    rows: bool

    @property
    def baseline(self) -> str:
        return f"raw@{self.db}"

    @property
    def key(self) -> str:
        return f"{self.name}@{self.db}"


ALL_VARIANTS = (
    Variant("raw", "sqlite", "/raw/", rows=False),
    Variant("wsroute_norows", "sqlite", "/norows/", rows=False),
    Variant("wsroute_rows_sqlite", "sqlite", "/rows/", rows=True),
    Variant("raw", "postgres", "/raw/", rows=False),
    Variant("wsroute_rows_postgres", "postgres", "/rows/", rows=True),
)


@dataclass(frozen=True)
class Settings:
    clients: int
    #: connections per client per variant per round
    connections: int
    #: connections per client per variant before timing starts
    warmup: int
    rounds: int
    #: stop adding rounds after this many seconds (at least ``min_rounds`` always run)
    budget_s: float
    min_rounds: int


FULL = Settings(clients=4, connections=40, warmup=10, rounds=60, budget_s=80.0, min_rounds=5)
QUICK = Settings(clients=4, connections=15, warmup=5, rounds=20, budget_s=14.0, min_rounds=3)


@dataclass
class Drain:
    """Socket rows of one database: left right after parts, and at the end."""

    #: most rows found right after a part ended (connections whose disconnect was still running)
    most_after_part: int = 0
    #: longest wait for the rows to reach 0 after a part
    longest_s: float = 0.0
    #: rows after the last round (once drained or timed out), and the wait
    final: int | None = None
    final_wait_s: float = 0.0
    #: rows after the server stopped
    after_stop: int | None = None


@dataclass
class Result:
    settings: Settings
    variants: tuple[Variant, ...]
    samples: dict[str, Samples]
    drains: dict[str, Drain]
    rounds: int = 0
    elapsed_s: float = 0.0
    error: str | None = None


# ---------------------------------------------------------------------------------------------
# Databases


def django_environment(db: Database, options: Options) -> dict[str, str]:
    """The variables ``churn_settings`` reads, for ``db``."""
    return {
        DATABASE_URL_ENV: db.url,
        SQLITE_SYNCHRONOUS_ENV: options.sqlite_synchronous if db.key == "sqlite" else "",
        CONN_MAX_AGE_ENV: options.conn_max_age,
    }


def migrate(db: Database, options: Options) -> None:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(django_environment(db, options))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(BENCH_DIR), env.get("PYTHONPATH"))))
    command = [sys.executable, "-m", "django", "migrate", "--settings", SETTINGS_MODULE, "--no-input", "-v", "0"]
    done = subprocess.run(
        command,
        cwd=BENCH_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise ServerError(f"migrate on {db.key} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def prepare_sqlite(directory: Path, options: Options) -> Database:
    db = Database("sqlite", f"sqlite:///{directory / 'churn.sqlite3'}")
    migrate(db, options)
    # WAL is a property of the file: set once here, every later connection uses it.
    with contextlib.closing(sqlite3.connect(db.sqlite_path)) as conn:
        mode = conn.execute(f"PRAGMA journal_mode={options.sqlite_journal}").fetchone()
    if mode is None or str(mode[0]).lower() != options.sqlite_journal:
        raise ServerError(f"SQLite refused journal_mode={options.sqlite_journal} (got {mode})")
    return db


def prepare_postgres(url: str, options: Options) -> tuple[Database, int]:
    """Create the database if missing, migrate it, delete rows an earlier run left; returns (db, rows deleted).

    Raises ``psycopg.OperationalError`` when the server cannot be reached.
    """
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise ValueError(f"--postgres-url {url!r} names no database")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S) as pg:
        if pg.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            pg.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = Database("postgres", url)
    migrate(db, options)
    with psycopg.connect(url, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S) as pg:
        deleted = pg.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(SOCKET_TABLE))).rowcount
    return db, deleted


async def wait_drained(db: Database) -> tuple[int, int, float]:
    """Poll until ``db`` has no Socket rows (``DRAIN_TIMEOUT_S`` at most).

    Returns (rows at first look, rows at the end, seconds waited).
    """
    start = time.monotonic()
    first = count = await asyncio.to_thread(db.count_rows)
    while count and time.monotonic() - start < DRAIN_TIMEOUT_S:
        await asyncio.sleep(DRAIN_POLL_S)
        count = await asyncio.to_thread(db.count_rows)
    return first, count, time.monotonic() - start


# ---------------------------------------------------------------------------------------------
# Servers


class ChurnServer(Server):
    """A daphne subprocess serving ``churn_app`` with one database configuration."""

    def __init__(self, db: Database, options: Options, log_dir: Path, profile_dir: Path | None) -> None:
        super().__init__(f"daphne-{db.key}", "inmemory", log_dir, profile_dir)
        self.db = db
        self.options = options

    def command(self) -> list[str]:
        return [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(self.port), "-v", "0", APP]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.update(django_environment(self.db, self.options))
        return env


# ---------------------------------------------------------------------------------------------
# Client


def is_pong(reply: str | bytes) -> bool:
    if not isinstance(reply, str):
        return False
    try:
        content = json.loads(reply)
    except ValueError:
        return False
    return isinstance(content, dict) and content.get("type") == "PONG"


async def churn(uri: str, count: int) -> int:
    """``count`` times: open a WebSocket, one PING/PONG, close. Returns how many replies were not PONG."""
    wrong = 0
    for _ in range(count):
        async with connect(uri, compression=None, ping_interval=None, open_timeout=10, close_timeout=2) as ws:
            await ws.send(PING)
            wrong += not is_pong(await ws.recv())
    return wrong


async def run_part(server: Server, uri: str, clients: int, count: int) -> Sample:
    """Every client opens and closes ``count`` connections, all clients at once.

    ``Sample.messages`` counts connections here.
    """
    server_cpu = server.cpu_seconds()
    client_cpu = time.process_time()
    start = time.perf_counter()
    async with asyncio.timeout(ROUND_TIMEOUT_S):  # not wait_for(gather()): that leaks a cancelled gather
        wrong = await asyncio.gather(*(churn(uri, count) for _ in range(clients)))
    wall = time.perf_counter() - start
    client_cpu = time.process_time() - client_cpu
    server_cpu_after = server.cpu_seconds()
    return Sample(
        messages=count * clients,
        wall_s=wall,
        client_cpu_s=client_cpu,
        server_cpu_s=None if server_cpu is None or server_cpu_after is None else server_cpu_after - server_cpu,
        mismatches=sum(wrong),
    )


async def check_endpoint(uri: str) -> None:
    async with (
        asyncio.timeout(ROUND_TIMEOUT_S),
        connect(uri, compression=None, ping_interval=None, open_timeout=10, close_timeout=2) as ws,
    ):
        await ws.send(PING)
        reply = await ws.recv()
    if not is_pong(reply):
        raise ServerError(f"{uri} answered {reply!r} to {PING}, expected a PONG")


async def measure(servers: dict[str, ChurnServer], settings: Settings, result: Result) -> None:
    """Check every endpoint, warm up, then time interleaved rounds into ``result``."""
    variants = result.variants
    uris = {v.key: f"ws://{HOST}:{servers[v.db].port}{v.path}" for v in variants}
    for variant in variants:
        await check_endpoint(uris[variant.key])
    for variant in variants:
        await run_part(servers[variant.db], uris[variant.key], settings.clients, settings.warmup)
    for db in {v.db for v in variants if v.rows}:
        await wait_drained(servers[db].db)
    deadline = time.monotonic() + settings.budget_s
    measure_start = time.monotonic()
    try:
        while result.rounds < settings.rounds and (result.rounds < settings.min_rounds or time.monotonic() < deadline):
            shift = result.rounds % len(variants)
            round_samples: dict[str, Sample] = {}
            for variant in (*variants[shift:], *variants[:shift]):
                round_samples[variant.key] = await run_part(
                    servers[variant.db], uris[variant.key], settings.clients, settings.connections
                )
                if variant.rows:
                    # untimed: the last few disconnects finish here, not in the next variant's part
                    left, _, waited = await wait_drained(servers[variant.db].db)
                    drain = result.drains[variant.db]
                    drain.most_after_part = max(drain.most_after_part, left)
                    drain.longest_s = max(drain.longest_s, waited)
            # only whole rounds count, so every variant has a sample for every round
            for key, sample in round_samples.items():
                sample.add_to(result.samples[key])
            result.rounds += 1
    finally:
        result.elapsed_s = time.monotonic() - measure_start
    for db, drain in result.drains.items():
        _, drain.final, drain.final_wait_s = await wait_drained(servers[db].db)


async def measure_cancellable(servers: dict[str, ChurnServer], settings: Settings, result: Result) -> None:
    Measuring.task = asyncio.current_task()
    try:
        await measure(servers, settings, result)
    finally:
        Measuring.task = None


def bench(
    databases: Sequence[Database], settings: Settings, options: Options, log_dir: Path, profile_dir: Path | None
) -> Result:
    keys = {db.key for db in databases}
    variants = tuple(v for v in ALL_VARIANTS if v.db in keys)
    result = Result(
        settings,
        variants,
        {v.key: Samples() for v in variants},
        {v.db: Drain() for v in variants if v.rows},
    )
    servers = {db.key: ChurnServer(db, options, log_dir, profile_dir) for db in databases}
    try:
        with contextlib.ExitStack() as stack:
            for server in servers.values():
                stack.enter_context(running(server))
            try:
                asyncio.run(measure_cancellable(servers, settings, result))
            except asyncio.CancelledError:
                if Measuring.interrupted:
                    raise KeyboardInterrupt from None
                raise
            except (WebSocketException, OSError, TimeoutError, sqlite3.Error, psycopg.Error) as exc:
                tails = []
                for server in servers.values():
                    process = server.process
                    state = "running" if process is None or process.poll() is None else f"exited {process.returncode}"
                    tails.append(f"{server.name} ({state}):\n{server.log_tail()}")
                result.error = f"{type(exc).__name__}: {exc}\n" + "\n".join(tails)
    except ServerError as exc:
        result.error = str(exc)
    for server in servers.values():
        if server.db.key in result.drains:
            with contextlib.suppress(sqlite3.Error, psycopg.Error):
                result.drains[server.db.key].after_stop = server.db.count_rows()
    return result


# ---------------------------------------------------------------------------------------------
# Report


def ratios(result: Result, key: str, baseline: str) -> list[float]:
    """Per-round conns/s of ``key`` over that of ``baseline`` in the same round."""
    base = result.samples[baseline].rates
    return [rate / base_rate for rate, base_rate in zip(result.samples[key].rates, base, strict=True)]


def describe_db(db: str, options: Options) -> str:
    age = f"CONN_MAX_AGE={options.conn_max_age}"
    if db == "sqlite":
        sync = f", synchronous={options.sqlite_synchronous}" if options.sqlite_synchronous else ""
        return f"SQLite file, journal_mode={options.sqlite_journal.upper()}{sync}, {age}"
    return f"PostgreSQL, {age}"


def print_result(result: Result, options: Options) -> tuple[int, int]:
    """Print the table; returns (targets met, targets judged)."""
    settings = result.settings
    print(
        f"\ndaphne {package_version('daphne')}: {result.rounds} rounds in {result.elapsed_s:.1f} s, "
        f"{settings.clients} clients x {settings.connections} connections per variant per round "
        "(connect, PING/PONG, close), in-memory channel layer"
    )
    if result.error is not None:
        print(f"  ERROR: {result.error}")
        if result.rounds:
            print(f"  (the table below is from the {result.rounds} whole rounds before the error)")
    if result.rounds == 0:
        print("  no complete round: nothing to report")
        return 0, 0
    header = f"  {'variant':<22}{'conns/s':>8}  {'vs raw':>6}  {'IQR of ratio':>12}  {'server CPU/conn':>15}"
    print(f"{header}  {'conns/CPU-s vs raw':>18}  {'client CPU':>10}  {f'target {TARGET}x':>11}")
    met = judged = 0
    for db in dict.fromkeys(v.db for v in result.variants):
        print(f"  server {db} ({describe_db(db, options)}):")
        raw_cpu = cpu_per_message(result.samples[f"raw@{db}"])
        for variant in (v for v in result.variants if v.db == db):
            samples = result.samples[variant.key]
            ratio_list = ratios(result, variant.key, variant.baseline)
            ratio = statistics.median(ratio_list)
            iqr = "-"
            if variant.key != variant.baseline and len(ratio_list) > 1:
                quartiles = statistics.quantiles(ratio_list, n=4)
                iqr = f"{quartiles[0]:.2f}-{quartiles[2]:.2f}"
            variant_cpu = cpu_per_message(samples)
            cpu = cpu_gain = "n/a"
            if variant_cpu is not None and raw_cpu is not None:
                cpu = f"{variant_cpu * 1e6:.0f} us"
                cpu_gain = f"{raw_cpu / variant_cpu:.2f}x" if variant_cpu > 0 else "inf"
            client = f"{samples.client_cpu_s / samples.wall_s:.0%}"
            target = "-"
            if variant.rows:
                target = verdict(ratio, TARGET)
                met += target == "PASS"
                judged += 1
            line = f"  {variant.name:<22}{statistics.median(samples.rates):>8.0f}  {ratio:>5.2f}x  {iqr:>12}"
            print(f"{line}  {cpu:>15}  {cpu_gain:>18}  {client:>10}  {target:>11}")
            if samples.mismatches:
                print(f"  ! {variant.name}: {samples.mismatches} replies were not PONG")
    if "raw@postgres" in result.samples:
        same = statistics.median(ratios(result, "raw@postgres", "raw@sqlite"))
        print(f"  raw on the postgres server / raw on the sqlite server: {same:.2f}x (same consumer: the noise floor)")
    for db, drain in result.drains.items():
        final = "?" if drain.final is None else str(drain.final)
        after_stop = "?" if drain.after_stop is None else str(drain.after_stop)
        clean = "PASS" if drain.final == 0 and drain.after_stop == 0 else "FAIL"
        print(
            f"  Socket rows left in {db}: {final} after the last round (waited {drain.final_wait_s:.2f} s), "
            f"{after_stop} after the server stopped: cleanup {clean}\n"
            f"    (right after a part: at most {drain.most_after_part} rows still there, gone within "
            f"{drain.longest_s:.2f} s)"
        )
    return met, judged


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds (under 30 s, noisier)")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="PostgreSQL database for wsroute_rows_postgres, created if missing; '' skips it "
        f"(default: {DEFAULT_POSTGRES_URL})",
    )
    parser.add_argument(
        "--conn-max-age",
        default="60",
        help="Django CONN_MAX_AGE for every server, seconds or 'none' (default: 60, as wsroute.W001 asks)",
    )
    parser.add_argument(
        "--sqlite-journal", choices=("wal", "delete"), default="wal", help="SQLite journal mode (default: wal)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run each server under cProfile, writing DIR/daphne-<db>.prof (slows the server; numbers not comparable)",
    )
    args = parser.parse_args(argv)
    if args.conn_max_age.lower() != "none" and not args.conn_max_age.isdigit():
        parser.error("--conn-max-age: a whole number of seconds or 'none'")
    settings = QUICK if args.quick else FULL
    options = Options(conn_max_age=args.conn_max_age.lower(), sqlite_journal=args.sqlite_journal)
    args.profile = start_report(
        f"wsroute connect/disconnect churn benchmark ({'quick' if args.quick else 'full'}",
        settings,
        args.profile,
        f"psycopg {package_version('psycopg')}",
        f"SQLite {sqlite3.sqlite_version}",
    )
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="wsroute-churn-") as tmp:
            directory = Path(tmp)
            try:
                databases = [prepare_sqlite(directory, options)]
            except (ServerError, sqlite3.Error, subprocess.TimeoutExpired) as exc:
                print(f"\nERROR: could not prepare the SQLite database: {exc}")
                return 1
            skipped = None
            if args.postgres_url:
                try:
                    pg, deleted = prepare_postgres(args.postgres_url, options)
                except psycopg.OperationalError as exc:
                    skipped = f"PostgreSQL at {args.postgres_url} not reachable ({str(exc).strip().splitlines()[0]})"
                except (ServerError, psycopg.Error, subprocess.TimeoutExpired, ValueError) as exc:
                    skipped = f"could not prepare {args.postgres_url}: {exc}"
                else:
                    databases.append(pg)
                    if deleted:
                        print(f"(deleted {deleted} Socket rows an earlier run left in {args.postgres_url})")
            else:
                skipped = "--postgres-url ''"
            print(f"prepared in {time.monotonic() - started:.1f} s: " + ", ".join(db.url for db in databases))
            result = bench(databases, settings, options, directory, args.profile)
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130

    met, judged = print_result(result, options)
    if skipped is not None:
        print(f"  wsroute_rows_postgres: skipped: {skipped}")
    if args.profile is not None:
        print(f"\nprofiles (cProfile, server main thread): {args.profile}/daphne-<db>.prof")
    print(
        f"\n{met}/{judged} targets met in {time.monotonic() - started:.1f} s "
        "(ratios are to raw on the same server in the same run; a report: exit 0 either way)"
    )
    return 1 if result.rounds == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
