"""Daphne processes, their shared database and WebSocket clients for the end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import redis.asyncio
from websockets.asyncio.client import ClientConnection, connect

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SETTINGS = "tests.e2e.project.settings"
PG_DATABASE = "wsroute_e2e"

#: every wait in these tests is bounded by one of these (seconds)
START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 60.0
RECV_TIMEOUT = 10.0


async def wait_for(
    condition: Callable[[], Awaitable[bool]], *, within: float, interval: float = 0.05, what: str = "condition"
) -> None:
    """Poll ``condition`` until it holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Row:
    server: str
    path: str
    user: str | None
    groups: tuple[str, ...]

    @property
    def pid(self) -> int:
        """The serving process's id (``Socket.server`` is ``host:pid:nonce``)."""
        return int(self.server.rsplit(":", 2)[1])


class Database:
    """The servers' database, read and reset directly (the test process's Django uses pytest-django's)."""

    def __init__(self, sqlite_path: Path | None = None, pg_conninfo: str | None = None) -> None:
        self.sqlite_path = sqlite_path
        self.pg_conninfo = pg_conninfo

    def _execute(self, sql: str) -> list[tuple[Any, ...]]:
        if self.pg_conninfo is not None:
            with psycopg.connect(self.pg_conninfo, autocommit=True) as pg:
                cursor = pg.execute(sql)
                return list(cursor.fetchall()) if cursor.description else []
        assert self.sqlite_path is not None
        with contextlib.closing(sqlite3.connect(self.sqlite_path, timeout=20)) as lite, lite:
            return list(lite.execute(sql).fetchall())

    def rows(self) -> list[Row]:
        sockets = self._execute(
            "SELECT s.id, s.server, s.path, u.username FROM wsroute_socket s LEFT JOIN auth_user u ON u.id = s.user_id"
        )
        memberships: dict[int, list[str]] = {}
        for socket_id, name in self._execute("SELECT socket_id, name FROM wsroute_socketgroup"):
            memberships.setdefault(socket_id, []).append(name)
        return [Row(server, path, user, tuple(sorted(memberships.get(pk, [])))) for pk, server, path, user in sockets]

    async def arows(self) -> list[Row]:
        return await asyncio.to_thread(self.rows)

    async def rows_of(self, server: Server) -> list[Row]:
        return [row for row in await self.arows() if row.pid == server.pid]

    async def membership_count(self) -> int:
        rows = await asyncio.to_thread(self._execute, "SELECT count(*) FROM wsroute_socketgroup")
        return int(rows[0][0])

    def reset(self) -> None:
        for table in ("wsroute_socketgroup", "wsroute_topicmember", "wsroute_socket", "django_session", "auth_user"):
            self._execute(f"DELETE FROM {table}")


def prepare_postgres(url: str, name: str = PG_DATABASE) -> str:
    """Create database ``name`` (the e2e one) on the URL's server if missing; return its conninfo.
    Connects to the ``postgres`` maintenance database, as Django does to create test databases."""
    parts = urlsplit(url)
    admin = psycopg.conninfo.make_conninfo(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        dbname="postgres",
    )
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{name}"')
    return psycopg.conninfo.make_conninfo(admin, dbname=name)


def migrated_database(
    tmp_path_factory: pytest.TempPathFactory, name: str = PG_DATABASE
) -> tuple[dict[str, str], Database]:
    """The servers' environment and database, migrated: on the PostgreSQL server of
    WSROUTE_TEST_DATABASE_URL when it is set (database ``<name>_<the URL's database>``, so runs
    pointed at different databases do not share servers' rows), a SQLite file otherwise."""
    env = base_env()
    url = os.environ.get("WSROUTE_TEST_DATABASE_URL")
    if url:
        name = "_".join(filter(None, (name, urlsplit(url).path.lstrip("/"))))
        db = Database(pg_conninfo=prepare_postgres(url, name))
        env["E2E_DATABASE_NAME"] = name
    else:
        path = tmp_path_factory.mktemp(f"{name}-db") / "db.sqlite3"
        env["E2E_SQLITE_PATH"] = str(path)
        db = Database(sqlite_path=path)
    subprocess.run(
        [PYTHON, "-m", "django", "migrate", "--no-input", "-v", "0"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=COMMAND_TIMEOUT,
    )
    return env, db


@dataclass
class Server:
    """One ``python -m daphne`` process serving ``tests.e2e.project``."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """``kill -9``: no disconnect handlers, no cleanup."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    async def wait_ready(self) -> None:
        async def listening() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"daphne {self.name} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return False
            writer.close()
            await writer.wait_closed()
            return True

        await wait_for(listening, within=START_TIMEOUT, what=f"daphne {self.name} to listen on {self.port}")


@dataclass
class Cluster:
    """Servers sharing one database and channel layer; its sockets and servers go when the test ends."""

    env: dict[str, str]
    db: Database
    workdir: Path
    servers: list[Server] = field(default_factory=list)
    sockets: list[ClientConnection] = field(default_factory=list)

    async def start(self, name: str, **extra_env: str) -> Server:
        server = spawn_daphne(name, {**self.env, **extra_env}, self.workdir / f"daphne-{name}.log")
        self.servers.append(server)
        await server.wait_ready()
        return server

    async def connect(self, server: Server, path: str, session_key: str | None = None) -> ClientConnection:
        """A WebSocket client on ``server``; ``session_key`` logs it in (the ``sessionid`` cookie)."""
        headers = {"Cookie": f"sessionid={session_key}"} if session_key else None
        ws = await connect(
            server.url(path),
            additional_headers=headers,
            open_timeout=RECV_TIMEOUT,
            close_timeout=5,
            ping_interval=None,  # no keepalive traffic: an idle socket really is idle
        )
        self.sockets.append(ws)
        return ws

    async def layer_group_size(self, group: str) -> int | None:
        """How many channels channels-redis holds in ``group`` (None with the in-memory layer)."""
        url = self.env.get("WSROUTE_TEST_REDIS_URL")
        if not url:
            return None
        client = redis.asyncio.Redis.from_url(url)
        try:
            return int(await client.zcard(f"{self.env['E2E_REDIS_PREFIX']}:group:{group}"))
        finally:
            await client.aclose()

    async def django(self, *args: str) -> str:
        """Run ``python -m django <args>`` with the servers' settings; return its stdout."""
        return await run_django(self.env, *args)

    async def close(self) -> None:
        try:
            await asyncio.gather(*(ws.close() for ws in self.sockets))
        finally:
            for server in self.servers:
                server.stop()
        url = self.env.get("WSROUTE_TEST_REDIS_URL")
        if url:  # what a crashed consumer or process left in Redis under this test's prefix
            client = redis.asyncio.Redis.from_url(url)
            try:
                async for key in client.scan_iter(match=f"{self.env['E2E_REDIS_PREFIX']}*"):
                    await client.delete(key)
            finally:
                await client.aclose()


def spawn_daphne(name: str, env: Mapping[str, str], log_path: Path) -> Server:
    """Start daphne on a free port, its stdout and stderr (logging, tracebacks) going to ``log_path``."""
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "tests.e2e.project.asgi:application"],
            cwd=REPO,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(name, port, proc, log_path)


async def run_django(env: Mapping[str, str], *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        PYTHON, "-m", "django", *args, cwd=REPO, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise AssertionError(f"django {' '.join(args)} failed ({proc.returncode}):\n{err.decode()}")
    return out.decode().strip()


def base_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("E2E_", "PYTEST_"))}
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), str(REPO / "src"), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


# -- clients ---------------------------------------------------------------------------------


async def receive(ws: ClientConnection, within: float = RECV_TIMEOUT) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.recv(), within)
    frame = json.loads(message)
    assert isinstance(frame, dict), frame
    return frame


async def request(ws: ClientConnection, frame: Mapping[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(frame))
    return await receive(ws)


async def close_code(ws: ClientConnection) -> int | None:
    """Wait for the server to close ``ws``; return its close code (frames still queued are skipped)."""
    await asyncio.wait_for(ws.wait_closed(), RECV_TIMEOUT)
    return ws.close_code
