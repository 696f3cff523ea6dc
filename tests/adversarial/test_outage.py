"""A Redis outage: sockets stay open, keep answering, and get group messages again after a restart.

The test runs its own ``redis-server`` (no persistence) on a free port, points
``CHANNEL_LAYERS`` at it, kills it with SIGKILL while two sockets (one of each style) sit in
one group, and restarts it on the same port. It needs Redis like the other ``redis`` tests
(``WSROUTE_TEST_REDIS_URL`` says Redis tests may run here) and the ``redis-server`` binary.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from channels.layers import BaseChannelLayer, get_channel_layer
from django.test import override_settings
from django.views import View

from tests.adversarial.conftest import TIMEOUT, Client, Style, check_error_frame, read_frame, tracebacks
from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketRouter
from wsroute_django.consumer import SocketConsumer

REDIS_SERVER = Path(os.environ.get("WSROUTE_REDIS_SERVER", "/usr/bin/redis-server"))

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        not (REDIS_SERVER.exists() and shutil.which(str(REDIS_SERVER))),
        reason=f"needs the redis-server binary at {REDIS_SERVER} (apt-get install redis-server)",
    ),
]

GROUP = f"outage-{uuid.uuid4().hex[:12]}"
#: how long Redis stays down
OUTAGE = 2.0
#: a group message must reach every socket within this many seconds of the restart
RECOVERY = 5.0


# -- a Redis of our own --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """``redis-server`` on ``port``, without persistence, that can be killed and started again."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + TIMEOUT
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL, by PID: no shutdown, no goodbye to the clients."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(TIMEOUT)
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Any:
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
async def redis_layer(redis_server: RedisServer) -> AsyncIterator[BaseChannelLayer]:
    """``CHANNEL_LAYERS`` pointed at our Redis (the options docs/deploying.md recommends)."""
    host = {"address": f"redis://127.0.0.1:{redis_server.port}/0", "socket_timeout": 10, "max_connections": 1000}
    config = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [host]}}}
    with override_settings(CHANNEL_LAYERS=config):  # channels drops its cached layers on setting_changed
        layer = get_channel_layer()
        assert layer is not None and type(layer).__name__ == "RedisChannelLayer"
        try:
            yield layer
        finally:
            await layer.close_pools()


# -- consumers: one per style, both in GROUP ------------------------------------------------------------------


class InGroup(RoutedSocketHandler):
    rate_limit = None


async def join(socket: SocketConsumer) -> None:
    await socket.group_add(GROUP)


async def shout(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    """Needs the layer: fails while Redis is down."""
    await socket.group_send(GROUP, "shouted")
    return {"type": "shout-sent"}


class Page(View):
    socket = SocketRouter(handler=InGroup)
    socket.connect(join)
    socket.route("shout")(shout)


class Events(JSONWebSocket):
    rate_limit = None

    async def on_connect(self) -> None:
        await self.group_add(GROUP)

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}


STYLES = {
    "decorator": Style("decorator", "type", "ERROR", Page.socket.as_asgi(), "PING", "PONG"),
    "subclass": Style("subclass", "event", "error", Events.as_asgi(), "ping", "pong"),
}


async def open_sockets() -> dict[str, Client]:
    clients: dict[str, Client] = {}
    for name, style in STYLES.items():
        client = Client(style.app, f"/ws/{name}/")
        connected, code = await client.connect(TIMEOUT)
        assert connected, f"{name} refused with {code}"
        clients[name] = client
    return clients


async def deliver(layer: BaseChannelLayer, n: int) -> None:
    await layer.group_send(GROUP, {"type": "wsroute.deliver", "event": "news", "payload": {"n": n}})


async def pings(clients: dict[str, Client], ref: str) -> None:
    for name, client in clients.items():
        style = STYLES[name]
        answer = await client.ask(style.frame(style.ping, ref=ref))
        assert answer.get(style.key) == style.pong and answer.get("ref") == ref, (name, answer)


async def test_sockets_survive_a_redis_outage_and_get_group_messages_after_the_restart(
    redis_server: RedisServer, redis_layer: BaseChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    clients = await open_sockets()
    try:
        await deliver(redis_layer, 0)
        for name, client in clients.items():
            assert await client.recv() == STYLES[name].frame("news", n=0)

        with caplog.at_level(logging.INFO, logger="wsroute"):
            redis_server.kill()
            down = time.monotonic()
            # Requests that do not need the layer are answered all through the outage...
            beat = 0
            while time.monotonic() - down < OUTAGE:
                await pings(clients, f"outage-{beat}")
                beat += 1
                await asyncio.sleep(0.1)
            # ...and one that does gets server_error, with the socket still open.
            await clients["decorator"].send({"type": "shout", "ref": "needs-redis"})
            text, _ = await read_frame(clients["decorator"])
            assert check_error_frame(text, STYLES["decorator"], "server_error")["ref"] == "needs-redis"
            outage_seconds = time.monotonic() - down
            outage_records = list(caplog.records)

            redis_server.start()
            restarted = time.monotonic()
            got: dict[str, float] = {}
            n = 0
            while len(got) < len(clients):
                assert time.monotonic() - restarted < RECOVERY, (
                    f"no group message within {RECOVERY}s of the restart: {got}"
                )
                n += 1
                try:
                    await deliver(redis_layer, n)
                except Exception:  # the test's own pool reconnecting
                    await asyncio.sleep(0.05)
                    continue
                for name, client in clients.items():
                    if name in got:
                        while not await client.receive_nothing(timeout=0.01):
                            await client.receive_output(TIMEOUT)  # a late copy of an earlier message
                        continue
                    if not await client.receive_nothing(timeout=0.1):
                        frame = await client.recv()
                        assert frame.get(STYLES[name].key) == "news", (name, frame)
                        got[name] = time.monotonic() - restarted
            await pings(clients, "after")

        wsroute_lines = [r for r in outage_records if r.name == "wsroute"]
        outage_lines = [r for r in wsroute_lines if "unavailable" in r.getMessage()]
        assert 1 <= len(outage_lines) <= outage_seconds + 2, [r.getMessage() for r in outage_lines]
        # the failed shout is one traceback; the outage itself none
        assert len(tracebacks(caplog)) <= 1, [r.getMessage() for r in tracebacks(caplog)]
        assert len(wsroute_lines) <= 2 * outage_seconds + 6, [r.getMessage() for r in wsroute_lines]
        back = [r for r in caplog.records if "back after" in r.getMessage()]
        assert len(back) <= len(clients), [r.getMessage() for r in back]
    finally:
        for client in clients.values():
            await client.disconnect(timeout=1.0)
