"""Scale on one process: thousands of concurrent WebSockets on one server, wsroute against stock Channels.

    python bench/scale.py                            10,000 sockets, 2 repetitions (about 20 minutes)
    python bench/scale.py --quick                    1,000 sockets, 5 s of messages, once (about 1 minute)
    python bench/scale.py --sockets 2000 --tracemalloc --servers uvicorn
                                                     where each variant's per-socket memory goes

Each variant runs in a fresh server process (uvicorn or daphne, started with ``bench/_harness.py``
on a free loopback port), one after the other, in an order rotated each repetition:

* ``raw``: ``bench/echo_app.py``'s stock ``AsyncJsonWebsocketConsumer`` (the baseline);
* ``decorator``: its wsroute ``SocketRouter`` on a ``View``;
* ``subclass``: its wsroute ``JSONWebSocket``;
* ``norows``: ``bench/churn_app.py``'s wsroute ``RoutedSocketHandler`` with ``persist = False``,
  under wsroute's default limits (``echo_app`` turns ``ERROR_LIMIT`` off and raises ``RATE_LIMIT``;
  ``churn_settings`` keeps the defaults: flood control at 100/s, ``ERROR_LIMIT`` 50/10s);
* ``rows``: the same with ``persist = True``: a ``Socket`` row per connection, on a SQLite file
  (WAL, ``synchronous=NORMAL``, ``CONN_MAX_AGE=60``, as ``bench/churn.py`` sets it up).

Every consumer runs under the in-memory channel layer (``--layer none``: the echo variants without
one), as in a real project, where each consumer also waits on its layer channel.

Per run: warm up (a few sockets, one request each, closed), read the server's RSS, open
``--sockets`` sockets (``--batch`` handshakes in flight at a time, so none waits near daphne's 5 s
handshake timeout), let them sit idle ``settle`` seconds and read the RSS again: the growth over
the sockets opened is the idle memory per socket. For ``rows``, ``wsroute_django.rows.touch()``
(the per-process liveness UPDATE the server runs every ``HEARTBEAT_INTERVAL``) and the stale-row
sweep's ``delete_stale()`` are then timed against the server's rows, in this process with the
server's settings (``churn_settings``). Then every socket sends one request per second
(request/response, spread evenly over the second; a socket whose previous reply has not come skips
its turn) for ``--seconds`` seconds: latency p50/p99, replies per second, the server's CPU share
(all threads, /proc), lost replies (none within 5 s of the end). Server pings are answered.

The client is this one asyncio process with a minimal WebSocket client (``asyncio.Protocol``,
pre-masked request frames), so it costs little per socket; its CPU share and how late its send
ticks wake (``tick lag``) say whether it kept up. The open-file limit (RLIMIT_NOFILE) of this
process is raised to its hard limit before anything starts; the servers inherit it (the table's
header says what they got). If the hard limit is too low for ``--sockets``, the count is cut and
the report says so.

Reported per server: medians over repetitions of idle KiB per socket and its ratio to ``raw`` in the
same repetition (the goal: wsroute variants at most raw's, ``PASS``/``MISS``), RSS with the sockets
open, connects per second, then the message phase's figures; for ``rows``, the heartbeat cost.
``--tracemalloc`` runs the servers under ``tracemalloc`` (25 frames) instead, skips the message
phase, and lists per socket the allocation sites that grew most while the sockets opened (each
charged to the innermost frame in wsroute, else Channels, else the server), and every wsroute or
Channels site; KiB/socket is then the traced growth.

This is a report, not a test: it exits 0 whether the goal is met or not (1 when no run could be
measured, 130 when interrupted). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import linecache
import os
import platform
import re
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import churn
import echo
from _harness import (
    HOST,
    Measuring,
    Server,
    ServerError,
    on_sigterm,
    package_version,
    running,
)

#: descriptors this process and each server keep for themselves beyond the sockets
FD_MARGIN: Final = 256
#: seconds one handshake may take (daphne gives up on its side after 5 s)
OPEN_TIMEOUT_S: Final = 20.0
#: seconds the replies to the last requests get once the message phase ends
REPLY_GRACE_S: Final = 5.0
#: seconds between two send ticks of the message phase
TICK_S: Final = 0.002
#: sockets of the warm-up (each sends one request, then all are closed)
WARMUP_SOCKETS: Final = 20
#: seconds a tracemalloc snapshot may take to be written
SNAPSHOT_TIMEOUT_S: Final = 120.0
#: the mask of every client frame (a client must mask; any key will do)
MASK: Final = bytes.fromhex("37fa213d")
#: the WebSocket key of every handshake (RFC 6455's sample: the servers only check its form)
HANDSHAKE_KEY: Final = "dGhlIHNhbXBsZSBub25jZQ=="
TRACE_DIR_ENV: Final = "WSROUTE_SCALE_TRACE_DIR"
#: runs ``python -m <argv[1]> <argv[2:]>`` under tracemalloc; SIGUSR1 writes a snapshot
TRACE_WRAPPER: Final = """
import gc, itertools, os, runpy, signal, sys, tracemalloc
tracemalloc.start(25)
_count = itertools.count()
def _dump(signum, frame):
    gc.collect()
    directory = os.environ["WSROUTE_SCALE_TRACE_DIR"]
    name = os.path.join(directory, f"{next(_count)}.snap")
    tracemalloc.take_snapshot().dump(name + ".tmp")
    os.replace(name + ".tmp", name)
signal.signal(signal.SIGUSR1, _dump)
module = sys.argv[1]
sys.argv = [module, *sys.argv[2:]]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""
#: timings of each heartbeat query (the median is reported)
HEARTBEAT_REPEAT: Final = 5


@dataclass(frozen=True)
class Variant:
    name: str
    #: ``echo`` (``echo_app``) or ``churn`` (``churn_app``, with a database)
    app: str
    path: str
    request: str
    #: the reply must have ``content[key] == value``
    key: str
    value: str
    #: a wsroute variant without rows: judged against raw's idle memory per socket
    judged: bool
    rows: bool = False


VARIANTS: Final = (
    Variant("raw", "echo", "/raw/", '{"type": "PING"}', "type", "PONG", judged=False),
    Variant("decorator", "echo", "/decorator/", '{"type": "PING"}', "type", "PONG", judged=True),
    Variant("subclass", "echo", "/subclass/", '{"event": "ping"}', "event", "pong", judged=True),
    Variant("norows", "churn", "/norows/", '{"type": "PING"}', "type", "PONG", judged=True),
    Variant("rows", "churn", "/rows/", '{"type": "PING"}', "type", "PONG", judged=False, rows=True),
)
BASELINE: Final = "raw"


@dataclass(frozen=True)
class Settings:
    sockets: int
    #: seconds of the message phase
    seconds: float
    #: runs of every variant on every server
    repeat: int
    #: seconds the open sockets sit idle before the RSS is read
    settle_s: float
    #: handshakes in flight at once
    batch: int


FULL = Settings(sockets=10_000, seconds=20.0, repeat=2, settle_s=3.0, batch=50)
QUICK = Settings(sockets=1_000, seconds=5.0, repeat=1, settle_s=1.0, batch=50)


# ---------------------------------------------------------------------------------------------
# File descriptors


@dataclass(frozen=True)
class FileLimit:
    before: int
    soft: int
    hard: int


def raise_file_limit() -> FileLimit:
    """Raise this process's RLIMIT_NOFILE soft limit to the hard one (servers started later inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return FileLimit(soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)


def process_file_limit(pid: int) -> str:
    """The soft open-file limit of process ``pid`` (Linux), as /proc shows it."""
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                return line.split()[3]
    except (OSError, IndexError):
        pass
    return "?"


# ---------------------------------------------------------------------------------------------
# Servers


class ScaleServer(Server):
    """uvicorn or daphne serving ``echo_app`` or ``churn_app``, optionally under tracemalloc."""

    def __init__(
        self,
        kind: str,
        variant: Variant,
        layer: str,
        log_dir: Path,
        db: churn.Database | None,
        options: churn.Options,
        trace_dir: Path | None,
        run: int,
    ) -> None:
        super().__init__(f"{kind}-{variant.name}-{run}", layer, log_dir, None)
        self.kind = kind
        self.variant = variant
        self.db = db
        self.options = options
        self.trace_dir = trace_dir

    def command(self) -> list[str]:
        app = echo.APP if self.variant.app == "echo" else churn.APP
        command = [app if part == echo.APP else part for part in echo.SERVERS[self.kind](self.port)]
        if self.trace_dir is not None:  # python -m <server> ... -> python -c <wrapper> <server> ...
            command[1:2] = ["-c", TRACE_WRAPPER]
        return command

    def environment(self) -> dict[str, str]:
        env = super().environment()
        if self.variant.app == "echo":
            env[echo.LAYER_ENV] = self.layer
        else:
            assert self.db is not None
            env.update(churn.django_environment(self.db, self.options))
        if self.trace_dir is not None:
            env[TRACE_DIR_ENV] = str(self.trace_dir)
        return env


def reset_rows(db: churn.Database) -> None:
    """Delete the rows (and memberships) a stopped server left, so each run starts empty."""
    with contextlib.closing(sqlite3.connect(db.sqlite_path, timeout=30)) as conn, conn:
        conn.execute("DELETE FROM wsroute_socketgroup")
        conn.execute(f"DELETE FROM {churn.SOCKET_TABLE}")


def server_of_most_rows(db: churn.Database) -> tuple[str, int] | None:
    with contextlib.closing(sqlite3.connect(db.sqlite_path, timeout=30)) as conn:
        row = conn.execute(
            f"SELECT server, COUNT(*) FROM {churn.SOCKET_TABLE} GROUP BY server ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


@dataclass(frozen=True)
class Heartbeat:
    """The two queries of one liveness beat (``rows.Liveness._beat``), timed on a server's rows."""

    rows: int
    touch_s: float
    sweep_s: float
    interval_s: float


def median_time(query: Callable[[], object]) -> float:
    times = []
    for _ in range(HEARTBEAT_REPEAT):
        start = time.perf_counter()
        query()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_heartbeat(db: churn.Database, options: churn.Options) -> Heartbeat:
    """Time ``touch()`` and ``delete_stale()`` on the rows of the server holding the most, here,
    with the server's settings (``churn_settings``; Django is set up in this process the first time)."""
    found = server_of_most_rows(db)
    if found is None:
        raise ServerError("no Socket rows to time the heartbeat on")
    server_id, rows = found
    import django
    from django.apps import apps

    if not apps.ready:
        os.environ.update(churn.django_environment(db, options))
        os.environ["DJANGO_SETTINGS_MODULE"] = churn.SETTINGS_MODULE
        django.setup()
    from django.db import DatabaseError, connections

    from wsroute_django.conf import get_settings
    from wsroute_django.rows import delete_stale, touch

    try:
        return Heartbeat(
            rows=rows,
            touch_s=median_time(lambda: touch(server_id)),
            sweep_s=median_time(delete_stale),
            interval_s=get_settings().HEARTBEAT_INTERVAL,
        )
    except DatabaseError as exc:
        raise ServerError(f"timing the heartbeat failed: {type(exc).__name__}: {exc}") from exc
    finally:
        connections.close_all()  # no SQLite connection of this process stays open beside the server's


# ---------------------------------------------------------------------------------------------
# Client: a minimal WebSocket client, one asyncio.Protocol per socket


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A final client frame, masked with ``MASK``."""
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | opcode, 0x80 | size))
    elif size < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    return head + MASK + unmask(payload, MASK)


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR ``payload`` with the repeated 4-byte ``mask`` (masking and unmasking are the same)."""
    if not payload:
        return payload
    key = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(len(payload), "big")


class Sock(asyncio.Protocol):
    """One client socket."""

    __slots__ = ("buffer", "closed", "opened", "pool", "sent_at", "transport", "upgraded")

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        #: None once the handshake succeeded, or why it failed
        self.opened: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.buffer = b""
        self.upgraded = False
        self.closed = False
        #: when the unanswered request was sent (None: nothing unanswered)
        self.sent_at: float | None = None

    def itself(self) -> Sock:
        """This socket, as ``create_connection``'s protocol factory."""
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.pool.handshake)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            status = buffer[: buffer.find(b"\r\n")]
            if not status.startswith(b"HTTP/1.1 101"):
                self._opened(f"handshake refused: {status.decode(errors='replace')}")
                assert self.transport is not None
                self.transport.abort()
                return
            self.upgraded = True
            self._opened(None)
            buffer = buffer[end + 4 :]
        self.buffer = self.pool.frames(self, buffer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self._opened(f"connection lost during the handshake: {exc}")
        elif not self.pool.closing:
            self.pool.dropped += 1
        if self.sent_at is not None:
            self.pool.settled()  # and counted lost: sent_at stays set

    def _opened(self, error: str | None) -> None:
        if not self.opened.done():
            self.opened.set_result(error)


@dataclass
class Pool:
    """Every socket of one run to one endpoint, and what they saw."""

    variant: Variant
    port: int
    handshake: bytes = b""
    request: bytes = b""
    closing: bool = False
    sent: int = 0
    skipped_busy: int = 0
    skipped_closed: int = 0
    outstanding: int = 0
    mismatched: int = 0
    unasked: int = 0
    dropped: int = 0
    closed_by_server: int = 0
    pings: int = 0
    latencies: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    #: set while no request is unanswered
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.handshake = (
            f"GET {self.variant.path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {HANDSHAKE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.request = client_frame(0x1, self.variant.request.encode())
        self.answered.set()

    def sample(self, text: str) -> None:
        if len(self.samples) < 5:
            self.samples.append(text)

    def send(self, sock: Sock) -> None:
        """The socket's turn: send the request, unless its last one is unanswered or it closed."""
        if sock.closed or sock.transport is None:
            self.skipped_closed += 1
        elif sock.sent_at is not None:
            self.skipped_busy += 1
        else:
            sock.sent_at = time.perf_counter()
            self.outstanding += 1
            self.answered.clear()
            self.sent += 1
            sock.transport.write(self.request)

    def frames(self, sock: Sock, buffer: bytes) -> bytes:
        """Handle the whole frames at the start of ``buffer``; return the rest."""
        pos, end = 0, len(buffer)
        while end - pos >= 2:
            first, second = buffer[pos], buffer[pos + 1]
            size, head = second & 0x7F, 2
            if size == 126:
                if end - pos < 4:
                    break
                size, head = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
            elif size == 127:
                if end - pos < 10:
                    break
                size, head = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
            mask = b""
            if second & 0x80:  # servers do not mask; tolerated
                mask, head = buffer[pos + head : pos + head + 4], head + 4
            if end - pos < head + size:
                break
            payload = buffer[pos + head : pos + head + size]
            if mask:
                payload = unmask(payload, mask)
            pos += head + size
            opcode = first & 0x0F
            if opcode == 0x1:
                self.on_text(sock, payload)
            elif opcode == 0x9:  # ping: answer, or the server closes the socket
                self.pings += 1
                assert sock.transport is not None
                sock.transport.write(client_frame(0xA, payload))
            elif opcode == 0x8:
                self.closed_by_server += 1
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                self.sample(f"closed by the server: {code} {payload[2:]!r}")
                assert sock.transport is not None
                sock.transport.close()
            elif opcode != 0xA:
                self.unasked += 1
                self.sample(f"unexpected opcode {opcode}")
        return buffer[pos:]

    def on_text(self, sock: Sock, payload: bytes) -> None:
        now = time.perf_counter()
        sent = sock.sent_at
        if sent is None:
            self.unasked += 1
            self.sample(f"unasked-for frame {payload[:120]!r}")
            return
        sock.sent_at = None
        self.settled()
        try:
            content = json.loads(payload)
        except ValueError:
            content = None
        if not isinstance(content, dict) or content.get(self.variant.key) != self.variant.value:
            self.mismatched += 1
            self.sample(f"{self.variant.path} answered {payload[:120]!r} to {self.variant.request}")
            return
        self.latencies.append(now - sent)

    def settled(self) -> None:
        """One unanswered request less (answered, or its socket closed)."""
        self.outstanding -= 1
        if self.outstanding == 0:
            self.answered.set()

    async def replies(self, within: float) -> None:
        """Wait until no request is unanswered, ``within`` seconds at most."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.answered.wait(), within)

    def lost(self, socks: Sequence[Sock]) -> int:
        return sum(1 for sock in socks if sock.sent_at is not None)


async def open_sockets(pool: Pool, count: int, batch: int, budget_s: float) -> tuple[list[Sock], dict[str, int]]:
    """Open ``count`` sockets, ``batch`` handshakes in flight; return them and the failures by reason."""
    loop = asyncio.get_running_loop()
    socks: list[Sock] = []
    failures: collections.Counter[str] = collections.Counter()
    todo = iter(range(count))
    deadline = time.monotonic() + budget_s

    async def opener() -> None:
        for _ in todo:
            if time.monotonic() > deadline:
                failures[f"not tried: opening took over {budget_s:.0f} s"] += 1
                continue
            sock = Sock(pool)
            try:
                async with asyncio.timeout(OPEN_TIMEOUT_S):
                    await loop.create_connection(sock.itself, HOST, pool.port)
                    error = await sock.opened
            except TimeoutError:
                error = f"no handshake within {OPEN_TIMEOUT_S:.0f} s"
            except OSError as exc:
                error = f"{type(exc).__name__}: {exc.strerror or exc}"
            if error is None:
                socks.append(sock)
            else:
                failures[error] += 1
                if sock.transport is not None:
                    sock.transport.abort()

    await asyncio.gather(*(opener() for _ in range(min(batch, count))))
    return socks, dict(failures)


def close_all(pool: Pool, socks: Sequence[Sock]) -> None:
    """Drop every socket at once (no closing handshake: the server process goes next)."""
    pool.closing = True
    for sock in socks:
        if sock.transport is not None:
            sock.transport.abort()


async def converse(pool: Pool, socks: Sequence[Sock], seconds: float) -> tuple[float, list[float]]:
    """Every socket sends one request per second, evenly spread, for ``seconds``; returns the
    wall time of the sending and each tick's lateness."""
    count = len(socks)
    total = int(seconds * count)
    spacing = 1.0 / count  # seconds between two sends, all sockets together
    lags: list[float] = []
    start = time.perf_counter()
    sent = 0
    while sent < total:
        due = min(total, int((time.perf_counter() - start) / spacing) + 1)
        while sent < due:
            pool.send(socks[sent % count])
            sent += 1
        before = time.perf_counter()
        await asyncio.sleep(TICK_S)
        lags.append(time.perf_counter() - before - TICK_S)
    wall = time.perf_counter() - start
    await pool.replies(REPLY_GRACE_S)
    return wall, lags


async def warm_up(pool: Pool, batch: int) -> None:
    """A few sockets, one request each, checked, then closed: imports and caches are warm."""
    socks, failures = await open_sockets(pool, WARMUP_SOCKETS, batch, OPEN_TIMEOUT_S * 2)
    try:
        if failures:
            raise ServerError(f"warm-up: {sum(failures.values())} sockets could not connect: {failures}")
        for sock in socks:
            pool.send(sock)
        await pool.replies(OPEN_TIMEOUT_S)
        if pool.mismatched or pool.outstanding:
            raise ServerError(
                f"warm-up on {pool.variant.path}: {pool.mismatched} wrong and {pool.outstanding} missing replies; "
                + "; ".join(pool.samples)
            )
    finally:
        close_all(pool, socks)


# ---------------------------------------------------------------------------------------------
# A run: one variant on one fresh server


def quantile(values: Sequence[float], q: int) -> float | None:
    """The ``q``-th percentile of ``values`` (None if empty)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


@dataclass
class Run:
    server: str
    variant: Variant
    repetition: int
    opened: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    connect_s: float = 0.0
    rss_before: int | None = None
    rss_idle: int | None = None
    idle_cpu: float | None = None
    #: the message phase
    phase_s: float = 0.0
    sent: int = 0
    replies: int = 0
    skipped: int = 0
    lost: int = 0
    mismatched: int = 0
    unasked: int = 0
    dropped: int = 0
    p50: float | None = None
    p99: float | None = None
    server_cpu: float | None = None
    client_cpu: float | None = None
    lag_p99: float | None = None
    heartbeat: Heartbeat | None = None
    file_limit: str = "?"
    samples: list[str] = field(default_factory=list)
    #: under ``--tracemalloc``: where the sockets' memory was allocated
    trace: Trace | None = None
    error: str | None = None

    @property
    def kib_per_socket(self) -> float | None:
        """RSS growth per socket; under ``--tracemalloc``, traced growth (RSS is skewed by the snapshots)."""
        if self.trace is not None:
            return self.trace.total / 1024
        if self.rss_before is None or self.rss_idle is None or not self.opened:
            return None
        return (self.rss_idle - self.rss_before) / self.opened / 1024


@dataclass(frozen=True)
class Context:
    settings: Settings
    layer: str
    log_dir: Path
    db: churn.Database | None
    options: churn.Options
    trace: bool


async def snapshot(server: ScaleServer, index: int) -> tracemalloc.Snapshot:
    """Have the server write tracemalloc snapshot ``index`` (SIGUSR1) and load it."""
    assert server.process is not None and server.trace_dir is not None
    path = server.trace_dir / f"{index}.snap"
    server.process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + SNAPSHOT_TIMEOUT_S
    while not path.exists():
        if time.monotonic() > deadline or server.process.poll() is not None:
            raise ServerError(f"{server.name} wrote no tracemalloc snapshot:\n{server.log_tail()}")
        await asyncio.sleep(0.1)
    return await asyncio.to_thread(tracemalloc.Snapshot.load, str(path))


#: where an allocation is charged: the innermost frame in the first group of paths that has one
OWNERS: Final = (
    ("/wsroute/", "/wsroute_django/", "echo_app.py", "churn_app.py"),
    ("/channels/", "/asgiref/"),
    ("/daphne/", "/uvicorn/", "/twisted/", "/autobahn/", "/websockets/", "/django/"),
)


def charged_to(traceback: tracemalloc.Traceback) -> tracemalloc.Frame:
    frames = list(traceback)[::-1]  # innermost first
    for owners in OWNERS:
        for frame in frames:
            if any(owner in frame.filename for owner in owners):
                return frame
    return frames[0]


def short(filename: str) -> str:
    """``filename`` from its package down (``wsroute_django/consumer.py``, ``asyncio/locks.py``)."""
    for pattern in (r"/site-packages/(.+)$", r"/(?:src|bench)/(.+)$", r"/lib/python3\.\d+/(.+)$"):
        found = re.search(pattern, filename)
        if found:
            return found[1]
    return filename


@dataclass
class Trace:
    """Where the traced memory that came with the sockets was allocated, per socket."""

    #: bytes per socket, all sites
    total: float
    #: bytes per socket by package of the site (``wsroute_django``, ``channels``, ``daphne``...)
    packages: dict[str, float]
    #: (bytes, allocations, site, source line) per socket, largest first: the ``top`` largest,
    #: and every site in wsroute or Channels with at least ``APP_SITE_FLOOR`` bytes
    sites: list[tuple[float, float, str, str]]


#: bytes per socket from which a site in wsroute or Channels is listed, however many are larger
APP_SITE_FLOOR: Final = 8


def attribute(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, sockets: int, top: int = 12) -> Trace:
    """Growth per socket by site (``charged_to``), largest first, and by package."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen *>")]
    sites: dict[tuple[str, int], list[int]] = collections.defaultdict(lambda: [0, 0])
    for stat in after.filter_traces(ignore).compare_to(before.filter_traces(ignore), "traceback"):
        frame = charged_to(stat.traceback)
        sites[frame.filename, frame.lineno][0] += stat.size_diff
        sites[frame.filename, frame.lineno][1] += stat.count_diff
    packages: collections.Counter[str] = collections.Counter()
    for (filename, _), (size, _) in sites.items():
        packages[short(filename).split("/")[0].removesuffix(".py")] += size
    ranked = sorted(sites.items(), key=lambda item: -item[1][0])
    app = (*OWNERS[0], *OWNERS[1])
    ranked = [
        item
        for rank, item in enumerate(ranked)
        if rank < top or (item[1][0] >= APP_SITE_FLOOR * sockets and any(owner in item[0][0] for owner in app))
    ]
    return Trace(
        total=sum(size for size, _ in sites.values()) / sockets,
        packages={name: size / sockets for name, size in packages.most_common()},
        sites=[
            (
                size / sockets,
                count / sockets,
                f"{short(filename)}:{lineno}",
                linecache.getline(filename, lineno).strip()[:70],
            )
            for (filename, lineno), (size, count) in ranked
        ],
    )


async def measure(server: ScaleServer, context: Context, run: Run) -> None:
    settings, variant = context.settings, server.variant
    assert server.process is not None
    run.file_limit = process_file_limit(server.process.pid)
    await warm_up(Pool(variant, server.port), settings.batch)
    await asyncio.sleep(0.5)
    before = await snapshot(server, 0) if context.trace else None
    run.rss_before = server.rss_bytes()
    pool = Pool(variant, server.port)
    started = time.monotonic()
    socks, run.failures = await open_sockets(
        pool, settings.sockets, settings.batch, budget_s=120.0 + settings.sockets * 0.01
    )
    try:
        run.connect_s = time.monotonic() - started
        run.opened = len(socks)
        cpu = server.cpu_seconds()
        await asyncio.sleep(settings.settle_s)
        cpu_after = server.cpu_seconds()
        if cpu is not None and cpu_after is not None:
            run.idle_cpu = (cpu_after - cpu) / settings.settle_s
        run.rss_idle = server.rss_bytes()
        if before is not None and socks:
            after = await snapshot(server, 1)
            run.trace = attribute(before, after, len(socks))
        if variant.rows and context.db is not None and socks:
            run.heartbeat = await asyncio.to_thread(time_heartbeat, context.db, context.options)
        if context.trace or not socks:
            return
        cpu = server.cpu_seconds()
        client_cpu = time.process_time()
        run.phase_s, lags = await converse(pool, socks, settings.seconds)
        cpu_after = server.cpu_seconds()
        run.client_cpu = (time.process_time() - client_cpu) / run.phase_s
        if cpu is not None and cpu_after is not None:
            run.server_cpu = (cpu_after - cpu) / run.phase_s
        run.sent, run.replies = pool.sent, len(pool.latencies)
        run.skipped = pool.skipped_busy + pool.skipped_closed
        run.lost, run.mismatched, run.unasked = pool.lost(socks), pool.mismatched, pool.unasked
        run.p50, run.p99 = quantile(pool.latencies, 50), quantile(pool.latencies, 99)
        run.lag_p99 = quantile(lags, 99)
    finally:
        run.dropped = pool.dropped + pool.closed_by_server
        run.samples = pool.samples
        close_all(pool, socks)
        await asyncio.sleep(0)  # let the aborts go out before the server is stopped


async def bench_run(server_kind: str, variant: Variant, repetition: int, context: Context, number: int) -> Run:
    run = Run(server_kind, variant, repetition)
    trace_dir = None
    if context.trace:
        trace_dir = context.log_dir / f"trace-{number}"
        trace_dir.mkdir()
    if variant.rows:
        assert context.db is not None
        await asyncio.to_thread(reset_rows, context.db)
    server = ScaleServer(
        server_kind, variant, context.layer, context.log_dir, context.db, context.options, trace_dir, number
    )
    try:
        with running(server):
            try:
                await measure(server, context, run)
            except (OSError, TimeoutError, sqlite3.Error, ValueError) as exc:
                process = server.process
                exited = "" if process is None or process.poll() is None else f" (server exited: {process.returncode})"
                run.error = f"{type(exc).__name__}: {exc}{exited}\n{server.log_tail()}"
    except ServerError as exc:
        run.error = str(exc)
    return run


async def bench_all(servers: Sequence[str], variants: Sequence[Variant], context: Context) -> list[Run]:
    Measuring.task = asyncio.current_task()
    runs: list[Run] = []
    try:
        for repetition in range(context.settings.repeat):
            shift = repetition % len(variants)
            for server_kind in servers:
                for variant in (*variants[shift:], *variants[:shift]):
                    started = time.monotonic()
                    run = await bench_run(server_kind, variant, repetition, context, len(runs))
                    runs.append(run)
                    status = "ERROR" if run.error else f"{run.opened} open in {run.connect_s:.1f} s"
                    status += f", {time.monotonic() - started:.0f} s in all"
                    print(
                        f"  [{len(runs)}] {server_kind} {variant.name} (repetition {repetition + 1}): {status}",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        Measuring.task = None
    return runs


# ---------------------------------------------------------------------------------------------
# Report


def median(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def fmt(value: float | None, spec: str, suffix: str = "", scale: float = 1.0) -> str:
    return "n/a" if value is None else f"{value * scale:{spec}}{suffix}"


def idle_ratios(runs: Sequence[Run], server: str, variant: str) -> list[float]:
    """Per repetition: the variant's idle KiB/socket over raw's on the same server."""
    by_rep = {(run.variant.name, run.repetition): run.kib_per_socket for run in runs if run.server == server}
    ratios = []
    for (name, repetition), kib in by_rep.items():
        base = by_rep.get((BASELINE, repetition))
        if name == variant and kib is not None and base:
            ratios.append(kib / base)
    return ratios


def print_server(server: str, runs: Sequence[Run], variants: Sequence[Variant], context: Context) -> tuple[int, int]:
    """One server's table; returns (goals met, goals judged)."""
    mine = [run for run in runs if run.server == server]
    settings = context.settings
    limits = sorted({run.file_limit for run in mine})
    print(
        f"\n{server} {package_version(server)}: {settings.sockets} sockets per run, "
        f"{settings.seconds:g} s at 1 message/s each, {settings.repeat} repetition(s), "
        f"channel layer {context.layer} (rows: in-memory + SQLite); server open-file limit {', '.join(limits)}"
    )
    for run in mine:
        if run.error:
            print(f"  ERROR in {run.variant.name} (repetition {run.repetition + 1}): {run.error}")
    header = (
        f"  {'variant':<10}{'open':>7}{'conn/s':>8}{'KiB/socket':>11}{'vs raw':>8}{'RSS open':>10}{'idle CPU':>9}"
        f"{'replies/s':>10}{'p50':>11}{'p99':>11}{'lost':>6}{'server CPU':>11}{'client CPU':>11}{'tick lag p99':>13}"
        f"{'goal <= raw':>12}"
    )
    print(header)
    met = judged = 0
    for variant in variants:
        done = [run for run in mine if run.variant is variant and run.error is None]
        if not done:
            print(f"  {variant.name:<10}  (no run measured)")
            continue
        kib = median([run.kib_per_socket for run in done])
        ratio = median(idle_ratios(runs, server, variant.name))
        goal = "-"
        if variant.judged and ratio is not None:
            goal = "PASS" if ratio <= 1.0 else "MISS"
            met += goal == "PASS"
            judged += 1
        phase = [run for run in done if run.phase_s]
        replies = median([run.replies / run.phase_s for run in phase])
        opened = min(run.opened for run in done)
        conn_rate = median([run.opened / run.connect_s for run in done if run.connect_s])
        line = (
            f"  {variant.name:<10}{opened:>7}{fmt(conn_rate, '.0f'):>8}{fmt(kib, '.1f'):>11}"
            f"{fmt(ratio, '.2f', 'x'):>8}{fmt(median([run.rss_idle for run in done]), '.0f', ' MiB', 2**-20):>10}"
            f"{fmt(median([run.idle_cpu for run in done]), '.0%'):>9}{fmt(replies, '.0f'):>10}"
            f"{fmt(median([run.p50 for run in phase]), '.1f', ' ms', 1000):>11}"
            f"{fmt(median([run.p99 for run in phase]), '.1f', ' ms', 1000):>11}"
            f"{sum(run.lost for run in phase):>6}{fmt(median([run.server_cpu for run in phase]), '.0%'):>11}"
            f"{fmt(median([run.client_cpu for run in phase]), '.0%'):>11}"
            f"{fmt(median([run.lag_p99 for run in phase]), '.1f', ' ms', 1000):>13}{goal:>12}"
        )
        print(line)
        print_details(variant, done, settings)
    return met, judged


def print_details(variant: Variant, done: Sequence[Run], settings: Settings) -> None:
    """What a run saw beyond the table: failures, losses, the heartbeat, the allocation sites."""
    failures: collections.Counter[str] = collections.Counter()
    for run in done:
        failures.update(run.failures)
    if failures:
        print(f"    ! {variant.name}: could not connect: " + "; ".join(f"{n} x {why}" for why, n in failures.items()))
    kibs = [run.kib_per_socket for run in done if run.kib_per_socket is not None]
    if len(kibs) > 1:
        print(f"    {variant.name}: KiB/socket per repetition: " + ", ".join(f"{kib:.1f}" for kib in kibs))
    for run in done:
        problems = {
            "mismatched": run.mismatched,
            "unasked-for": run.unasked,
            "closed by the server or dropped": run.dropped,
            "turns skipped (reply still awaited)": run.skipped,
        }
        shown = ", ".join(f"{n} {what}" for what, n in problems.items() if n)
        if shown:
            print(f"    ! {variant.name} (repetition {run.repetition + 1}): {shown}; sent {run.sent}")
        for sample in run.samples:
            print(f"      e.g. {sample}")
    beats = [run.heartbeat for run in done if run.heartbeat]
    if beats:
        rows = beats[0].rows
        touch_s = statistics.median(beat.touch_s for beat in beats)
        sweep_s = statistics.median(beat.sweep_s for beat in beats)
        interval = beats[0].interval_s
        print(
            f"    heartbeat ({variant.name}, SQLite): touch() {touch_s * 1000:.1f} ms for {rows} rows "
            f"({touch_s / max(rows, 1) * 1e6:.2f} us/row), stale sweep delete_stale() {sweep_s * 1000:.1f} ms; "
            f"once per HEARTBEAT_INTERVAL ({interval:g} s): {(touch_s + sweep_s) / interval:.2%} of one core "
            f"(median of {HEARTBEAT_REPEAT} timings x {len(beats)} run(s))"
        )
    for run in done:
        if run.trace is None:
            continue
        packages = ", ".join(f"{name} {size:.0f}" for name, size in run.trace.packages.items() if abs(size) >= 16)
        print(f"    tracemalloc, {variant.name}: {run.trace.total:.0f} traced bytes per socket: {packages}")
        print(
            "    largest sites, and every wsroute or Channels site over "
            f"{APP_SITE_FLOOR} B (charged to the innermost wsroute frame, else Channels, else the server), per socket:"
        )
        for size, count, site, source in run.trace.sites:
            print(f"      {size:>8.0f} B {count:>6.1f} blocks  {site:<48} {source}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 sockets, 5 s of messages, one repetition")
    parser.add_argument("--sockets", type=int, help="sockets per run (default: 10,000; --quick 1,000)")
    parser.add_argument("--seconds", type=float, help="seconds of 1 message/s per socket (default: 20; --quick 5)")
    parser.add_argument("--repeat", type=int, help="repetitions of every run (default: 2; --quick 1)")
    parser.add_argument("--batch", type=int, help="handshakes in flight at once (default: 50)")
    parser.add_argument(
        "--servers", nargs="+", choices=tuple(echo.SERVERS), default=list(echo.SERVERS), help="servers, in order"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=[variant.name for variant in VARIANTS],
        default=[variant.name for variant in VARIANTS],
        help=f"variants ({BASELINE} is always run: the ratios need it)",
    )
    parser.add_argument(
        "--layer", choices=("inmemory", "none"), default="inmemory", help="channel layer of the echo variants"
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="run each variant under tracemalloc and list where its per-socket memory goes (no message phase)",
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    changes = {
        name: value
        for name, value in (
            ("sockets", args.sockets),
            ("seconds", args.seconds),
            ("repeat", args.repeat),
            ("batch", args.batch),
        )
        if value is not None
    }
    settings = dataclasses.replace(settings, **changes)
    if settings.sockets < 1 or settings.seconds <= 0 or settings.repeat < 1 or settings.batch < 1:
        parser.error("--sockets, --seconds, --repeat and --batch must be positive")
    variants = tuple(v for v in VARIANTS if v.name in args.variants or v.name == BASELINE)

    limit = raise_file_limit()
    started = time.monotonic()
    print(
        f"wsroute scale benchmark ({'quick' if args.quick else 'full'}{', tracemalloc' if args.tracemalloc else ''}): "
        f"{settings.sockets} sockets per server process, a fresh process per variant and repetition\n"
        f"Python {platform.python_version()}, channels {package_version('channels')}, "
        f"django {package_version('django')}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.machine()}\n"
        f"open-file limit of this process: {limit.before} raised to {limit.soft} (hard limit {limit.hard})"
    )
    if settings.sockets + FD_MARGIN > limit.soft:
        cut = max(1, limit.soft - FD_MARGIN)
        print(
            f"the hard open-file limit ({limit.hard}) is too low for {settings.sockets} sockets (each needs a "
            f"descriptor here and one in the server, plus {FD_MARGIN} spare): cut to {cut}; raise the hard "
            "limit (ulimit -Hn as root, or /etc/security/limits.conf) for the full count"
        )
        settings = dataclasses.replace(settings, sockets=cut)
    signal.signal(signal.SIGTERM, on_sigterm)
    options = churn.Options(conn_max_age="60", sqlite_journal="wal")
    try:
        with tempfile.TemporaryDirectory(prefix="wsroute-scale-") as tmp:
            directory = Path(tmp)
            db = None
            if any(variant.rows for variant in variants):
                try:
                    db = churn.prepare_sqlite(directory, options)
                except (ServerError, sqlite3.Error, subprocess.TimeoutExpired) as exc:
                    print(f"\nERROR: could not prepare the SQLite database: {exc}")
                    return 1
            context = Context(settings, args.layer, directory, db, options, args.tracemalloc)
            try:
                runs = asyncio.run(bench_all(args.servers, variants, context))
            except asyncio.CancelledError:
                if Measuring.interrupted:
                    raise KeyboardInterrupt from None
                raise
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130

    met = judged = 0
    for server in args.servers:
        server_met, server_judged = print_server(server, runs, variants, context)
        met += server_met
        judged += server_judged
    print(
        "\nKiB/socket: server RSS growth from before the sockets opened to after they sat idle, over the "
        "sockets opened (median over repetitions; vs raw: median of the per-repetition ratios to raw on the "
        "same server). replies/s, p50/p99, lost, CPU: the message phase (CPU: share of one core, all threads)."
    )
    if args.tracemalloc:
        print(
            "(under tracemalloc, KiB/socket is the traced growth, not RSS; connect rates and RSS are not "
            "comparable with an untraced run)"
        )
    print(
        f"\n{met}/{judged} idle-memory goals met (wsroute variants at most raw's KiB/socket) in "
        f"{time.monotonic() - started:.0f} s (a report: exit 0 either way)"
    )
    return 0 if any(run.error is None and run.opened for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
