"""Fan-out and connect-rate benchmark: wsroute's MemoryChannelLayer against Channels' InMemoryChannelLayer.

    python bench/fanout.py            full run (about 4 minutes)
    python bench/fanout.py --quick    about 2 minutes, noisier
    python bench/fanout.py --copies   the layers alone, no server (under a minute)

Two server processes serve ``bench/fanout_app.py`` (uvicorn by default; ``--servers daphne``
or both), one under each layer (``WSROUTE_BENCH_LAYER=inmemory`` / ``memory``), side by side on
free loopback ports, for the whole run. Every socket is a wsroute ``JSONWebSocket``, so each
one also has a layer pump waiting in ``receive`` on its own channel, as in a real project.
Two scenarios:

* **fan-out**: 100 ``/member/`` sockets (in the group ``fan``) and one ``/sender/`` socket. The
  sender sends ``{"event": "shout", "n": n}``; the server ``group_send``s it; every member
  receives ``{"event": "shouted", "n": n}`` and checks it gets every ``n`` in order. At most
  20 shouts are in flight, fewer than the layer's channel capacity (100), so nothing may be
  dropped. Measured: deliveries (member frames) per second.
* **connect rate with N sockets open**: a helper subprocess holds N idle ``/idle/`` sockets
  open on each server (a subprocess, so that this one stays under its file limit), then
  several clients here open a socket, ping-pong once and close it, in a loop. Measured:
  connections per second, at each level (1,000 and 10,000 by default).

The measured sockets use a small hand-written WebSocket client (bare asyncio streams): the
``websockets`` client costs about as much CPU per frame, and more per handshake, as the server,
which would make these rates the client's. The idle sockets use ``websockets``.

Method, as in ``bench/echo.py``: a round runs every layer once (for 2 seconds each, 1 with
``--quick``; the order rotated each round), so slow drift of a noisy machine hits both alike. Reported per
scenario: each layer's median rate over rounds, the median over rounds of the per-round ratio
MemoryChannelLayer / InMemoryChannelLayer (with its interquartile range), the server's CPU time
per delivery or connection (whole process, all threads, from /proc, over all rounds; the ratio
of those is a view that other load on the machine disturbs less than wall time), this client's
CPU share of the wall time (near 100% would mean the client sets the pace) and, for the
connect levels, each server's resident memory with the idle sockets open.

``--copies`` starts no server: it times the layers alone in this process (``group_send`` to 100
receive loops waiting on their channels), and MemoryChannelLayer copying with ``copy.deepcopy``
per member, or one copy shared by all members (unsafe: a member that changed its message would
change it for all), to show what each way of copying costs.

This is a report, not a test: it exits 0 whatever the numbers (1 when a scenario could not
run at all, 130 when interrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    die_with_parent,
    package_version,
    running,
    start_report,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

APP = "fanout_app:application"
LAYER_ENV = "WSROUTE_BENCH_LAYER"  # read by fanout_app
BASELINE = "inmemory"
LAYERS = {"inmemory": "InMemoryChannelLayer", "memory": "MemoryChannelLayer"}
#: idle sockets per helper process (each is a file descriptor there)
HOLD_CHUNK = 5000
#: seconds a helper gets to open its sockets
HOLD_TIMEOUT_S = 300.0
#: server keepalive pings would wake every idle socket; an hour is never, in this run
PING_INTERVAL_S = "3600"
PING = '{"event": "ping"}'
SCRIPT = Path(__file__).resolve()
#: any 16 bytes, base64-encoded (RFC 6455 section 4.1); the client does not check the answer's hash
HANDSHAKE_KEY = base64.b64encode(b"wsroute-bench-16").decode()


@dataclass(frozen=True)
class Settings:
    members: int
    #: shouts in flight at most
    window: int
    #: seconds of each layer's part of a round
    part_s: float
    warmup_s: float
    levels: tuple[int, ...]
    #: concurrent clients opening sockets in the connect scenario
    clients: int
    #: rounds per scenario at most
    rounds: int
    #: stop adding rounds to a scenario after this many seconds (at least ``min_rounds`` always run)
    budget_s: float
    min_rounds: int


FULL = Settings(
    members=100,
    window=20,
    part_s=2.0,
    warmup_s=1.0,
    levels=(1000, 10000),
    clients=8,
    rounds=30,
    budget_s=45.0,
    min_rounds=7,
)
QUICK = Settings(
    members=100,
    window=20,
    part_s=1.0,
    warmup_s=0.5,
    levels=(1000, 10000),
    clients=8,
    rounds=10,
    budget_s=12.0,
    min_rounds=4,
)


# ---------------------------------------------------------------------------------------------
# Server subprocesses


def uvicorn_command(port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", APP, "--app-dir", str(BENCH_DIR)),
        *("--host", HOST, "--port", str(port), "--lifespan", "off", "--log-level", "warning", "--no-access-log"),
        *("--ws-ping-interval", PING_INTERVAL_S, "--ws-ping-timeout", PING_INTERVAL_S, "--backlog", "4096"),
    ]


def daphne_command(port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), "-v", "0"),
        *("--ping-interval", PING_INTERVAL_S, "--ping-timeout", PING_INTERVAL_S, APP),
    ]


SERVERS: dict[str, Callable[[int], list[str]]] = {"uvicorn": uvicorn_command, "daphne": daphne_command}


class FanoutServer(Server):
    """uvicorn or daphne serving ``fanout_app`` under one layer; ``name`` is ``<server>-<layer>``."""

    def __init__(self, server: str, layer: str, log_dir: Path, profile_dir: Path | None) -> None:
        super().__init__(f"{server}-{layer}", layer, log_dir, profile_dir)
        self.server = server

    def command(self) -> list[str]:
        return SERVERS[self.server](self.port)

    def environment(self) -> dict[str, str]:
        return {**super().environment(), LAYER_ENV: self.layer}

    def uri(self, path: str) -> str:
        return f"ws://{HOST}:{self.port}{path}"

    def rss_bytes(self) -> int | None:
        if self.process is None:
            return None
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
        return None


# ---------------------------------------------------------------------------------------------
# Idle sockets, held by helper processes


async def hold_here(uri: str, count: int) -> None:
    """The helper: open ``count`` sockets to ``uri``, say so on stdout, keep them until killed."""
    held: list[ClientConnection] = []
    gate = asyncio.Semaphore(100)

    async def open_one() -> None:
        async with gate:
            held.append(await connect(uri, compression=None, ping_interval=None, open_timeout=120, close_timeout=1))

    await asyncio.gather(*(open_one() for _ in range(count)))
    print(f"ready {len(held)}", flush=True)
    await asyncio.Event().wait()


@dataclass
class Holders:
    """Helper processes holding idle sockets, per server."""

    log_dir: Path
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    held: dict[str, int] = field(default_factory=dict)

    async def hold(self, server: FanoutServer, total: int) -> float:
        """Top ``server`` up to ``total`` idle sockets; returns the seconds it took."""
        started = time.perf_counter()
        while (have := self.held.get(server.name, 0)) < total:
            count = min(HOLD_CHUNK, total - have)
            log = (self.log_dir / f"hold-{server.name}-{have}.log").open("ab")
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, str(SCRIPT), "--hold", server.uri("/idle/"), str(count)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )
            log.close()
            self.processes.append(process)
            assert process.stdout is not None
            try:
                line = await asyncio.wait_for(process.stdout.readline(), HOLD_TIMEOUT_S)
            except TimeoutError:
                line = b""
            if line.strip() != f"ready {count}".encode():
                tail = (self.log_dir / f"hold-{server.name}-{have}.log").read_text(errors="replace")[-2000:]
                raise ServerError(f"could not hold {count} sockets open on {server.name}:\n{tail}")
            self.held[server.name] = have + count
        return time.perf_counter() - started

    async def stop(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.terminate()
        for process in self.processes:
            await process.wait()
        self.processes.clear()


# ---------------------------------------------------------------------------------------------
# A bare WebSocket client
#
# The measured sockets use this, not the ``websockets`` client: that one spends about as much
# CPU per frame and more per handshake than the server does, so the rates would be this
# process's rather than the server's. Frames here are text or close, FIN set, masked with a
# fixed key (servers unmask whatever key they get; RFC 6455 section 5.3).

MASK = b"\x5a\xa5\x3c\xc3"


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame of under 126 bytes, as RFC 6455 section 5.2 lays it out."""
    assert len(payload) < 126
    masked = bytes(byte ^ MASK[index % 4] for index, byte in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + MASK + masked


PING_FRAME = masked_frame(0x1, PING.encode())
CLOSE_FRAME = masked_frame(0x8, (1000).to_bytes(2, "big"))


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One (unmasked, unfragmented) server frame: ``(opcode, payload)``."""
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    return first & 0x0F, await reader.readexactly(length)


def handshake(server: FanoutServer, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {HANDSHAKE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def open_bare(server: FanoutServer, request: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """A connection through the opening handshake, or None if the server refused it."""
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(request)
    if (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101 "):
        return reader, writer
    writer.close()
    return None


async def close_bare(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


# ---------------------------------------------------------------------------------------------
# Scenarios


class FanOut:
    """One server's sender and members, reading in the background; ``run`` is one part of a round."""

    def __init__(self, server: FanoutServer, sender: asyncio.StreamWriter, members: list[asyncio.StreamReader]) -> None:
        self.server = server
        self.sender = sender
        self.counts = [0] * len(members)
        self.sent = 0
        self.mismatches = 0
        self.progress = asyncio.Event()
        self.readers = [asyncio.ensure_future(self.read(index, reader)) for index, reader in enumerate(members)]

    @classmethod
    async def open(
        cls, server: FanoutServer, members: int, stack: contextlib.AsyncExitStack, prefix: str = "/"
    ) -> FanOut:
        """``members`` sockets on ``<prefix>member/`` and a sender on ``<prefix>sender/``."""

        async def open_socket(path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            opened = await open_bare(server, handshake(server, path))
            if opened is None:
                raise ConnectionError(f"{server.name} refused a socket on {path}")
            stack.push_async_callback(close_bare, opened[1])
            return opened

        member_sockets = [await open_socket(f"{prefix}member/") for _ in range(members)]
        _, sender = await open_socket(f"{prefix}sender/")
        fan = cls(server, sender, [reader for reader, _ in member_sockets])
        stack.push_async_callback(fan.stop)
        return fan

    async def read(self, index: int, reader: asyncio.StreamReader) -> None:
        counts = self.counts
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                opcode, payload = await read_frame(reader)
                if opcode != 0x1:
                    return
                frame = json.loads(payload)
                if frame.get("event") != "shouted" or frame.get("n") != counts[index]:
                    self.mismatches += 1
                counts[index] += 1
                self.progress.set()

    async def stop(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)

    async def delivered(self, shouts: int) -> None:
        """Wait until every member has received ``shouts`` frames."""
        while min(self.counts) < shouts:
            if any(reader.done() for reader in self.readers):
                raise ConnectionError(f"a member socket of {self.server.name} closed")
            self.progress.clear()
            await self.progress.wait()

    async def run(self, seconds: float, window: int) -> Sample:
        first, mismatches = self.sent, self.mismatches
        server_cpu = self.server.cpu_seconds()
        client_cpu = time.process_time()
        start = time.perf_counter()
        deadline = start + seconds
        async with asyncio.timeout(seconds + ROUND_TIMEOUT_S):
            while time.perf_counter() < deadline:
                await self.delivered(self.sent - window + 1)
                self.sender.write(masked_frame(0x1, f'{{"event": "shout", "n": {self.sent}}}'.encode()))
                self.sent += 1
            await self.delivered(self.sent)
        wall = time.perf_counter() - start
        client_cpu = time.process_time() - client_cpu
        server_cpu_after = self.server.cpu_seconds()
        return Sample(
            messages=(self.sent - first) * len(self.counts),
            wall_s=wall,
            client_cpu_s=client_cpu,
            server_cpu_s=None if server_cpu is None or server_cpu_after is None else server_cpu_after - server_cpu,
            mismatches=self.mismatches - mismatches,
        )


async def open_ping_close(server: FanoutServer, request: bytes) -> bool:
    """One connection: handshake, ping, pong, closing handshake, the server's TCP close.
    True if every step got the answer it should."""
    opened = await open_bare(server, request)
    if opened is None:
        return False
    reader, writer = opened
    try:
        writer.write(PING_FRAME)
        opcode, payload = await read_frame(reader)
        answered = opcode == 0x1 and json.loads(payload) == {"event": "pong"}
        writer.write(CLOSE_FRAME)
        opcode, payload = await read_frame(reader)
        closed = opcode == 0x8 and payload[:2] == (1000).to_bytes(2, "big")  # the code we sent, echoed
        await reader.read()  # the server closes the TCP connection first (RFC 6455 section 7.1.1)
        return answered and closed
    finally:
        await close_bare(writer)


async def churn(server: FanoutServer, seconds: float, clients: int) -> Sample:
    """Open, ping-pong and close sockets on ``/idle/`` from ``clients`` loops for ``seconds``."""
    request = handshake(server, "/idle/")
    opened = mismatches = 0
    server_cpu = server.cpu_seconds()
    client_cpu = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds

    async def client() -> None:
        nonlocal opened, mismatches
        while time.perf_counter() < deadline:
            if not await open_ping_close(server, request):
                mismatches += 1
            opened += 1

    async with asyncio.timeout(seconds + ROUND_TIMEOUT_S):
        await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - start
    client_cpu = time.process_time() - client_cpu
    server_cpu_after = server.cpu_seconds()
    return Sample(
        messages=opened,
        wall_s=wall,
        client_cpu_s=client_cpu,
        server_cpu_s=None if server_cpu is None or server_cpu_after is None else server_cpu_after - server_cpu,
        mismatches=mismatches,
    )


# ---------------------------------------------------------------------------------------------
# Rounds


@dataclass
class Scenario:
    title: str
    #: what is counted, plural and singular
    unit: str
    per: str
    #: what a mismatch is
    mismatch: str
    samples: dict[str, Samples] = field(default_factory=lambda: {layer: Samples() for layer in LAYERS})
    rounds: int = 0
    elapsed_s: float = 0.0
    #: server resident memory after the scenario's set-up, per layer
    rss: dict[str, int | None] = field(default_factory=dict)
    #: seconds the set-up took per layer (opening the idle sockets)
    setup_s: dict[str, float] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Result:
    server: str
    version: str
    settings: Settings
    scenarios: list[Scenario] = field(default_factory=list)
    error: str | None = None


async def interleave(scenario: Scenario, settings: Settings, part: Callable[[str, float], Awaitable[Sample]]) -> None:
    """Warm up each layer, then time rounds (every layer once, order rotated) into ``scenario``."""
    layers = list(LAYERS)
    for layer in layers:
        await part(layer, settings.warmup_s)
    started = time.monotonic()
    try:
        while scenario.rounds < settings.rounds and (
            scenario.rounds < settings.min_rounds or time.monotonic() - started < settings.budget_s
        ):
            shift = scenario.rounds % len(layers)
            samples = {layer: await part(layer, settings.part_s) for layer in (*layers[shift:], *layers[:shift])}
            for layer, sample in samples.items():  # only whole rounds count
                sample.add_to(scenario.samples[layer])
            scenario.rounds += 1
    finally:
        scenario.elapsed_s = time.monotonic() - started


async def measure(servers: dict[str, FanoutServer], settings: Settings, result: Result, log_dir: Path) -> None:
    fanout = Scenario(
        f"fan-out to {settings.members} members", "deliveries", "delivery", "frames out of order, missing or wrong"
    )
    result.scenarios.append(fanout)
    async with contextlib.AsyncExitStack() as stack:
        fans = {layer: await FanOut.open(server, settings.members, stack) for layer, server in servers.items()}

        async def fan_part(layer: str, seconds: float) -> Sample:
            return await fans[layer].run(seconds, settings.window)

        await interleave(fanout, settings, fan_part)

    holders = Holders(log_dir)
    try:
        for level in settings.levels:
            scenario = Scenario(
                f"connect with {level:,} sockets open", "connections", "connection", "connections answered wrongly"
            )
            result.scenarios.append(scenario)
            for layer, server in servers.items():
                scenario.setup_s[layer] = await holders.hold(server, level)
                scenario.rss[layer] = server.rss_bytes()

            async def churn_part(layer: str, seconds: float) -> Sample:
                return await churn(servers[layer], seconds, settings.clients)

            await interleave(scenario, settings, churn_part)
    finally:
        await holders.stop()


async def measure_cancellable(
    servers: dict[str, FanoutServer], settings: Settings, result: Result, log_dir: Path
) -> None:
    Measuring.task = asyncio.current_task()
    try:
        await measure(servers, settings, result, log_dir)
    finally:
        Measuring.task = None


def bench_server(name: str, settings: Settings, log_dir: Path, profile_dir: Path | None) -> Result:
    result = Result(name, package_version(name), settings)
    servers = {layer: FanoutServer(name, layer, log_dir, profile_dir) for layer in LAYERS}
    try:
        with contextlib.ExitStack() as stack:
            for server in servers.values():
                stack.enter_context(running(server))
            try:
                asyncio.run(measure_cancellable(servers, settings, result, log_dir))
            except asyncio.CancelledError:
                if Measuring.interrupted:
                    raise KeyboardInterrupt from None
                raise
            except (WebSocketException, OSError, EOFError, TimeoutError, ServerError) as exc:
                exited = [
                    f"{server.name} exited ({server.process.returncode})"
                    for server in servers.values()
                    if server.process is not None and server.process.poll() is not None
                ]
                tails = "\n".join(f"{server.name}:\n{server.log_tail()}" for server in servers.values())
                result.error = f"{type(exc).__name__}: {exc} {'; '.join(exited)}\n{tails}"
    except ServerError as exc:
        result.error = str(exc)
    return result


# ---------------------------------------------------------------------------------------------
# --copies: the layers alone, in this process


COPY_ROUNDS = 15
COPY_SENDS = 200


def nested_message(n: int) -> dict[str, Any]:
    """A Channels-style message with a nested payload (2 dicts, 2 lists)."""
    return {"type": "chat.message", "n": n, "payload": {"text": "hello", "user": {"id": n, "tags": ["a", "b"]}}}


def wsroute_message(n: int) -> dict[str, Any]:
    """What ``group_send`` of a wsroute consumer puts on the layer."""
    from wsroute_django import layer

    return layer.deliver("shouted", {"n": n})


async def seconds_per_delivery(make_layer: Callable[[], Any], messages: list[dict[str, Any]], members: int) -> float:
    """``group_send`` each message to ``members`` channels, each with a receive loop waiting on it."""
    channel_layer = make_layer()
    for index in range(members):
        await channel_layer.group_add("fan", f"member-{index}")
    received = target = 0
    all_in = asyncio.Event()

    async def pump(channel: str) -> None:
        nonlocal received
        while True:
            await channel_layer.receive(channel)
            received += 1
            if received == target:
                all_in.set()

    pumps = [asyncio.ensure_future(pump(f"member-{index}")) for index in range(members)]
    await asyncio.sleep(0)
    start = time.perf_counter()
    for message in messages:
        target += members
        all_in.clear()
        await channel_layer.group_send("fan", message)
        await all_in.wait()
    elapsed = time.perf_counter() - start
    for task in pumps:
        task.cancel()
    await asyncio.gather(*pumps, return_exceptions=True)
    return elapsed / (len(messages) * members)


async def compare_copies(members: int) -> None:
    """Per-delivery cost of the layers and of MemoryChannelLayer with other ways to copy."""
    from copy import deepcopy

    from channels.layers import InMemoryChannelLayer

    from wsroute_django import memory_layer

    last: list[Any] = [None, None]

    def one_shared_copy(message: dict[str, Any]) -> dict[str, Any]:
        if last[0] is not message:  # a new group_send: copy once, then hand every member that copy
            last[0], last[1] = message, deepcopy(message)
        shared: dict[str, Any] = last[1]
        return shared

    copiers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "InMemoryChannelLayer (deepcopy per member)": memory_layer.copy_message,
        "MemoryChannelLayer (copy_message per member)": memory_layer.copy_message,
        "MemoryChannelLayer with deepcopy per member": deepcopy,
        "MemoryChannelLayer, one shared copy (unsafe)": one_shared_copy,
    }
    shapes = {"wsroute message": wsroute_message, "nested message": nested_message}
    costs: dict[tuple[str, str], list[float]] = {(variant, shape): [] for variant in copiers for shape in shapes}
    variants = list(copiers)
    for round_number in range(COPY_ROUNDS):
        shift = round_number % len(variants)
        for variant in (*variants[shift:], *variants[:shift]):
            make = InMemoryChannelLayer if variant.startswith("InMemory") else memory_layer.MemoryChannelLayer
            for shape, build in shapes.items():
                messages = [build(n) for n in range(COPY_SENDS)]
                saved, memory_layer.copy_message = memory_layer.copy_message, copiers[variant]  # type: ignore[assignment]
                try:
                    costs[variant, shape].append(await seconds_per_delivery(make, messages, members))
                finally:
                    memory_layer.copy_message = saved
    print(
        f"\nlayers alone, in this process: {COPY_ROUNDS} interleaved rounds of {COPY_SENDS} group_sends to "
        f"{members} waiting receive loops; median time per delivery (one thread; per-round ratio to Channels)"
    )
    print(f"  {'':<46}" + "".join(f"{shape:>26}" for shape in shapes))
    baseline = variants[0]
    for variant in variants:
        cells = []
        for shape in shapes:
            ratio = statistics.median(
                base / cost for base, cost in zip(costs[baseline, shape], costs[variant, shape], strict=True)
            )
            cells.append(f"{statistics.median(costs[variant, shape]) * 1e6:.2f} us ({ratio:.2f}x)")
        print(f"  {variant:<46}" + "".join(f"{cell:>26}" for cell in cells))


# ---------------------------------------------------------------------------------------------
# Report


def ratios(scenario: Scenario, name: str, baseline: str = BASELINE) -> list[float]:
    base = scenario.samples[baseline].rates
    return [rate / base_rate for rate, base_rate in zip(scenario.samples[name].rates, base, strict=True)]


def megabytes(size: int | None) -> str:
    return "n/a" if size is None else f"{size / 2**20:.0f} MiB"


def print_scenario(scenario: Scenario, settings: Settings) -> None:
    print(
        f"\n  {scenario.title}: {scenario.rounds} rounds in {scenario.elapsed_s:.1f} s, "
        f"~{settings.part_s:g} s per layer per round"
        + (f", {settings.clients} clients" if scenario.unit == "connections" else f", window {settings.window}")
    )
    if scenario.rounds == 0:
        print("    no complete round: nothing to report")
        return
    unit, per = scenario.unit, scenario.per
    header = f"    {'layer':<22}{unit + '/s':>15}  {'vs Channels':>11}  {'IQR of ratio':>12}"
    print(f"{header}  {'server CPU/' + per:>22}  {unit + '/CPU-s vs Channels':>32}  {'client CPU':>10}")
    base_cpu = cpu_per_message(scenario.samples[BASELINE])
    for layer, label in LAYERS.items():
        samples = scenario.samples[layer]
        ratio_list = ratios(scenario, layer)
        ratio = statistics.median(ratio_list)
        iqr = "-"
        if layer != BASELINE and len(ratio_list) > 1:
            quartiles = statistics.quantiles(ratio_list, n=4)
            iqr = f"{quartiles[0]:.2f}-{quartiles[2]:.2f}"
        cpu = cpu_gain = "n/a"
        layer_cpu = cpu_per_message(samples)
        if layer_cpu is not None and base_cpu is not None:
            cpu = f"{layer_cpu * 1e6:,.0f} us"
            cpu_gain = f"{base_cpu / layer_cpu:.2f}x" if layer_cpu > 0 else "inf"
        client = f"{samples.client_cpu_s / samples.wall_s:.0%}"
        line = f"    {label:<22}{statistics.median(samples.rates):>15,.0f}  {ratio:>10.2f}x  {iqr:>12}"
        print(f"{line}  {cpu:>22}  {cpu_gain:>32}  {client:>10}")
        if samples.mismatches:
            print(f"    ! {label}: {samples.mismatches} {scenario.mismatch}")
    if scenario.rss:
        memory = ", ".join(
            f"{LAYERS[layer]} {megabytes(scenario.rss.get(layer))} (opened in {scenario.setup_s[layer]:.1f} s)"
            for layer in LAYERS
        )
        print(f"    server memory with the idle sockets open: {memory}")


def print_result(result: Result) -> None:
    print(f"\n{result.server} {result.version}, one process per layer:")
    if result.error is not None:
        print(f"  ERROR: {result.error}")
    for scenario in result.scenarios:
        print_scenario(scenario, result.settings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds (noisier)")
    parser.add_argument(
        "--servers", nargs="+", choices=tuple(SERVERS), default=["uvicorn"], help="servers to run, in order"
    )
    parser.add_argument(
        "--levels", nargs="+", type=int, metavar="N", help="open sockets for the connect scenario (1000 10000)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run each server under cProfile, writing DIR/<server>-<layer>.prof (numbers not comparable)",
    )
    parser.add_argument(
        "--copies",
        action="store_true",
        help="only time the layers in this process, with several ways to copy messages (no servers)",
    )
    parser.add_argument("--hold", nargs=2, metavar=("URI", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hold:
        asyncio.run(hold_here(args.hold[0], int(args.hold[1])))
        return 0
    if args.copies:
        asyncio.run(compare_copies(FULL.members))
        return 0
    settings = QUICK if args.quick else FULL
    if args.levels:
        settings = Settings(**{**settings.__dict__, "levels": tuple(args.levels)})
    title = f"wsroute channel-layer benchmark ({'quick' if args.quick else 'full'}"
    args.profile = start_report(title, settings, args.profile, f"wsroute {package_version('wsroute')}")
    started = time.monotonic()
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory(prefix="wsroute-bench-") as log_dir:
            for name in args.servers:
                results.append(bench_server(name, settings, Path(log_dir), args.profile))
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    for result in results:
        print_result(result)
    print(
        f"\ndone in {time.monotonic() - started:.1f} s (ratios are MemoryChannelLayer / InMemoryChannelLayer "
        "in the same round; a report: exit 0 either way)"
    )
    incomplete = any(not result.scenarios or any(s.rounds == 0 for s in result.scenarios) for result in results)
    return 1 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
