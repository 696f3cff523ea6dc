"""What ``fuzz.py`` and ``soak.py`` share: the server and its services, client sockets, the report.

The server is one ``python -m daphne`` process on 127.0.0.1 serving ``tests/e2e/project``,
started with the end-to-end tests' helpers (``tests/e2e/support.py``), on PostgreSQL and
channels-redis when their URLs are given, else a SQLite file and the in-memory layer. Both
scripts, and ``tests/e2e/test_fuzz_soak.py`` through them, import from here as ``bench._stress``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import ipaddress
import json
import os
import platform
import re
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import redis.asyncio
from tests.e2e.support import Cluster, Database, Server, base_env, prepare_postgres, run_django
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench._harness import rss_bytes

#: the database the stress runs use on PostgreSQL (the tests use ``wsroute_e2e``)
PG_DATABASE: Final = "wsroute_stress"
#: daphne refuses (closes on) client frames over 1 MiB
DAPHNE_MAX_FRAME: Final = 1024 * 1024

#: seconds one socket may wait for an answer
REPLY_TIMEOUT: Final = 30.0
#: seconds rows and group memberships get to drain once the sockets closed
DRAIN_TIMEOUT: Final = 30.0
#: seconds to open one WebSocket
OPEN_TIMEOUT: Final = 10.0
#: sockets opened at once (daphne times a handshake out after 5 s)
OPEN_BATCH: Final = 50


# ---------------------------------------------------------------------------------------------
# The server and its services


def loopback_only(url: str | None, what: str) -> str | None:
    """``url`` unchanged if its host is a loopback address (or empty); else ``ValueError``."""
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"{what} {url!r} is not on this machine: only 127.0.0.1 / localhost / ::1 are used")
    return url


@contextlib.asynccontextmanager
async def bench_cluster(database_url: str | None, redis_url: str | None, workdir: Path) -> AsyncIterator[Cluster]:
    """A ``Cluster`` (no server started yet) on PostgreSQL/Redis or SQLite/in-memory, migrated."""
    env = base_env()
    env.pop("WSROUTE_TEST_DATABASE_URL", None)
    env.pop("WSROUTE_TEST_REDIS_URL", None)
    if database_url:
        env["WSROUTE_TEST_DATABASE_URL"] = database_url
        env["E2E_DATABASE_NAME"] = PG_DATABASE
        db = Database(pg_conninfo=await asyncio.to_thread(prepare_postgres, database_url, PG_DATABASE))
    else:
        env["E2E_SQLITE_PATH"] = str(workdir / "db.sqlite3")
        db = Database(sqlite_path=workdir / "db.sqlite3")
    if redis_url:
        env["WSROUTE_TEST_REDIS_URL"] = redis_url
    env["E2E_REDIS_PREFIX"] = f"wsroute-stress-{uuid.uuid4().hex[:12]}"
    await run_django(env, "migrate", "--no-input", "-v", "0")
    cluster = Cluster(env=env, db=db, workdir=workdir)
    try:
        yield cluster
    finally:
        await cluster.close()


def services(cluster: Cluster) -> str:
    database = "PostgreSQL" if cluster.env.get("WSROUTE_TEST_DATABASE_URL") else "SQLite"
    layer = "channels-redis" if cluster.env.get("WSROUTE_TEST_REDIS_URL") else "in-memory channel layer"
    return f"{database} + {layer}"


def mib(size: int | None) -> str:
    return "n/a" if size is None else f"{size / 2**20:.1f} MiB"


async def rows_of(cluster: Cluster, server: Server) -> int:
    """``Socket`` rows written by ``server`` (other processes' rows are not counted)."""
    return len(await cluster.db.rows_of(server))


async def group_members(cluster: Cluster) -> dict[str, int] | None:
    """Members of each channels-redis group under the cluster's prefix (None: in-memory layer)."""
    url = cluster.env.get("WSROUTE_TEST_REDIS_URL")
    if not url:
        return None
    client = redis.asyncio.Redis.from_url(url)
    prefix = f"{cluster.env['E2E_REDIS_PREFIX']}:group:"
    try:
        found = {}
        async for key in client.scan_iter(match=f"{prefix}*"):
            name = key.decode() if isinstance(key, bytes) else str(key)
            found[name.removeprefix(prefix)] = int(await client.zcard(key))
        return {name: size for name, size in found.items() if size}
    finally:
        await client.aclose()


async def drained(probe: Callable[[], Awaitable[int]], within: float = DRAIN_TIMEOUT) -> int:
    """Poll ``probe`` until it returns 0 or ``within`` seconds pass; return its last value."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value == 0 or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


def server_log_summary(server: Server) -> str:
    text = server.log()
    tracebacks = text.count("Traceback (most recent call last)")
    unsent = len(re.findall(r"could not send", text))
    unhandled = len(re.findall(r"failed to handle", text))
    return f"{tracebacks} tracebacks logged, {unsent} 'could not send', {unhandled} 'failed to handle'"


def versions() -> str:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    return (
        f"Python {platform.python_version()}, daphne {version('daphne')}, channels {version('channels')}, "
        f"django {version('django')}, pydantic {version('pydantic')}, websockets {version('websockets')} (client), "
        f"{os.cpu_count()} CPUs"
    )


@dataclass
class Footprint:
    """What the server holds for the sockets: ``Socket`` rows, Redis group members and its RSS,
    while they are open, after the load, and once they closed (rows and members must drain)."""

    rows_open: int
    groups_open: dict[str, int] | None
    rss_open: int | None
    rss_loaded: int | None = None
    alive: bool = True
    rows_left: int = 0
    groups_left: int = 0
    rss_after: int | None = None

    @classmethod
    async def opened(cls, cluster: Cluster, server: Server) -> Footprint:
        """Counted with the sockets open, before the load."""
        return cls(await rows_of(cluster, server), await group_members(cluster), rss_bytes(server.pid))

    def loaded(self, server: Server) -> None:
        """The RSS after the load, before the sockets close."""
        self.rss_loaded = rss_bytes(server.pid)

    async def closed(self, cluster: Cluster, server: Server) -> None:
        """Counted once the sockets closed: rows and members get ``DRAIN_TIMEOUT`` to drain."""
        self.alive = server.proc.poll() is None

        async def rows_left() -> int:
            return await rows_of(cluster, server)

        async def members_left() -> int:
            return sum((await group_members(cluster) or {}).values())

        self.rows_left = await drained(rows_left) if self.alive else await rows_left()
        self.groups_left = await drained(members_left) if self.alive else await members_left()
        self.rss_after = rss_bytes(server.pid)

    def rows_line(self, closing: str = "") -> str:
        groups = (
            "n/a (in-memory layer)"
            if self.groups_open is None
            else f"{self.groups_open} while open, {self.groups_left} left after close"
        )
        rows = f"Socket rows: {self.rows_open} while open, {self.rows_left} left after close{closing}"
        return f"{rows}; Redis group members: {groups}"

    def server_line(self, server: Server, loaded: str) -> str:
        state = "alive" if self.alive else f"EXITED ({server.proc.returncode})"
        return (
            f"server RSS: {mib(self.rss_open)} with the sockets open, {mib(self.rss_loaded)} {loaded}, "
            f"{mib(self.rss_after)} after close; server {state}; log: {server_log_summary(server)}"
        )

    def check(self, report: Report, sockets: int) -> None:
        report.check(self.alive, "the server process died")
        report.check(self.rows_open == sockets, f"{self.rows_open} Socket rows while {sockets} sockets were open")
        report.check(self.rows_left == 0, f"{self.rows_left} Socket rows left after close")
        report.check(self.groups_left == 0, f"{self.groups_left} Redis group members left after close")


# ---------------------------------------------------------------------------------------------
# The consumers and the client sockets


@dataclass(frozen=True)
class Style:
    """One consumer style of the stress project (``tests/e2e/project/stress.py``), as a client sees it."""

    name: str
    path: str
    key: str
    error: str
    upper: bool

    def route(self, name: str) -> str:
        return name.upper() if self.upper else name.lower()

    @property
    def routes(self) -> frozenset[str]:
        names = {"echo", "echo_sync", "shout", "boom", "boom_sync", "forbid", "nan", "huge", "bad_return"}
        return frozenset({self.route(name) for name in names} | ({"PING"} if self.upper else set()))


DECORATOR: Final = Style("decorator", "/stress/dec/", "type", "ERROR", upper=True)
SUBCLASS: Final = Style("subclass", "/stress/sub/", "event", "error", upper=False)
STYLES: Final = (DECORATOR, SUBCLASS)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def parse_server_frame(text: str | bytes) -> dict[str, Any] | None:
    """A frame from the server as a dict, or None if it is not a JSON object (never acceptable)."""
    if not isinstance(text, str):
        return None

    def constant(name: str) -> Any:
        raise ValueError(name)

    try:
        frame = json.loads(text, parse_constant=constant)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


async def open_socket(server: Server, path: str) -> ClientConnection:
    return await connect(
        server.url(path),
        open_timeout=OPEN_TIMEOUT,
        close_timeout=10,
        ping_interval=None,  # no keepalive traffic from the client; it answers daphne's pings
        compression=None,
        max_size=DAPHNE_MAX_FRAME,
        max_queue=None,  # the reader keeps up; never push back on the server
    )


async def open_sockets(
    server: Server, paths: Sequence[str], batch: int = OPEN_BATCH
) -> list[ClientConnection | BaseException]:
    """A socket per path (or why it could not connect), ``batch`` at a time, each batch once the
    previous one is open, so no handshake waits near daphne's 5 s timeout."""
    opened: list[ClientConnection | BaseException] = []
    for start in range(0, len(paths), batch):
        part = paths[start : start + batch]
        opened += await asyncio.gather(*(open_socket(server, path) for path in part), return_exceptions=True)
    return opened


class StressSocket:
    """One client socket: a reader task hands every frame from the server to ``on_frame``, and
    notes how the socket ended if the server closed it (``died``)."""

    def __init__(self, index: int, style: Style, ws: ClientConnection) -> None:
        self.index = index
        self.style = style
        self.ws = ws
        self.closing = False
        self.died: str | None = None
        self.reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.reader = asyncio.ensure_future(self._read())

    def on_frame(self, text: str | bytes, frame: dict[str, Any] | None) -> None:
        """One frame from the server (``frame``: ``text`` parsed, None if not a JSON object)."""
        raise NotImplementedError

    def on_end(self) -> None:
        """The reader stopped: no more frames will come."""

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                self.on_frame(text, parse_server_frame(text))
        except ConnectionClosed:
            pass
        finally:
            if not self.closing:
                code, reason = self.ws.close_code, self.ws.close_reason
                self.died = f"socket {self.index} ({self.style.name}) closed by the server: {code} {reason!r}"
            self.on_end()

    async def close(self) -> None:
        self.closing = True
        await self.ws.close()
        if self.reader is not None:
            await asyncio.wait([self.reader], timeout=REPLY_TIMEOUT)


# ---------------------------------------------------------------------------------------------
# Running and reporting


@dataclass
class Report:
    """Figures to print, and what failed."""

    title: str
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def line(self, text: str) -> None:
        self.lines.append(text)

    def check(self, ok: bool, failure: str) -> None:
        if not ok:
            self.failures.append(failure)

    def render(self) -> str:
        verdict = "PASS" if not self.failures else "FAIL: " + "; ".join(self.failures)
        return "\n".join([self.title, *self.lines, f"RESULT: {verdict}"])


def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser described by ``doc``'s first line, with the service options."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    group = parser.add_argument_group("services (loopback only)")
    group.add_argument(
        "--database-url",
        default=os.environ.get("WSROUTE_TEST_DATABASE_URL"),
        help="PostgreSQL on this machine (default: $WSROUTE_TEST_DATABASE_URL; none: SQLite)",
    )
    group.add_argument(
        "--redis-url",
        default=os.environ.get("WSROUTE_TEST_REDIS_URL"),
        help="Redis on this machine (default: $WSROUTE_TEST_REDIS_URL; none: the in-memory layer)",
    )
    return parser


def run_bench(
    args: argparse.Namespace, body: Callable[[Cluster], Awaitable[Report]], keep_dir_on_failure: bool = True
) -> int:
    """Run ``body`` against a fresh cluster; print its report; 0 if it passed."""
    database_url = loopback_only(args.database_url, "--database-url")
    redis_url = loopback_only(args.redis_url, "--redis-url")
    workdir = Path(tempfile.mkdtemp(prefix="wsroute-stress-"))

    async def main() -> Report:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        async with bench_cluster(database_url, redis_url, workdir) as cluster:
            return await body(cluster)

    try:
        report = asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"\ninterrupted; servers stopped (logs in {workdir})", file=sys.stderr)
        return 130
    print(report.render(), flush=True)
    if report.failures and keep_dir_on_failure:
        print(f"server logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if report.failures else 0
