"""End-to-end echo benchmark: wsroute consumers against a stock Channels consumer (the performance targets in docs).

    python bench/echo.py            full run (under 3 minutes)
    python bench/echo.py --quick    about 30 seconds, noisier
    python bench/echo.py --pipeline 10    pipelined: 10 requests in flight per connection

The app in ``bench/echo_app.py`` is served on 127.0.0.1 by real ASGI servers, uvicorn and then
daphne, each a subprocess on a free port (started, polled until the port accepts connections,
terminated when its part is done, on error or on Ctrl-C). Five apps, one per path:

* ``raw``: a stock ``AsyncJsonWebsocketConsumer`` answering ``{"type": "PING"}`` with ``PONG``
  (the baseline);
* ``decorator``: a wsroute ``SocketRouter`` on a Django ``View``, ``async`` ``PING`` route;
* ``subclass``: a wsroute ``JSONWebSocket`` with ``async def on_ping`` (``{"event": "ping"}``);
* ``raw_nohop``: ``raw`` with the per-message thread hop of Channels' ``AsyncConsumer.dispatch``
  (``await aclose_old_connections()``, Channels 4.2+) removed, to show what the hop costs;
* ``asgi``: a bare ASGI app (no Channels, no Django), the floor: wsroute's server CPU per
  message is reported as a multiple of its.

Method: this process holds a few WebSocket connections per variant (``websockets`` asyncio
client, no compression, no keepalive pings), each doing request/response ping-pong, all
connections of a variant at once. A round runs every variant once for a fixed number of
messages per connection, in an order rotated each round, so slow drift of a noisy machine hits
all variants alike. Reported per server: the median msgs/s of each variant, the median over
rounds of its per-round ratio to ``raw`` (with the interquartile range), and PASS/MISS of the
wsroute variants against the floor (0.9x raw) and the goal (1.8x raw) on that ratio. Two more
columns help read it: the server's CPU time per message (whole process, all threads, from
/proc, over all rounds; ``msgs/CPU-s vs raw`` is raw's CPU per message over the variant's, a
view that other load on the machine disturbs less than wall time) and this client's CPU share
of the wall time (near 100% would mean the client, not the server, sets the pace).

``--profile DIR`` runs each server under cProfile and leaves ``DIR/<server>.prof`` (its main
thread only; the numbers of such a run are not comparable). ``--layer inmemory`` gives every
consumer an ``InMemoryChannelLayer``; ``--servers daphne`` runs one server.

This is a report, not a test: it exits 0 whether targets are met or not (1 when the benchmark
itself could not run, 130 when interrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

APP = "echo_app:application"
LAYER_ENV = "WSROUTE_BENCH_LAYER"  # read by echo_app
FLOOR = 0.9
GOAL = 1.8


@dataclass(frozen=True)
class Variant:
    name: str
    path: str
    request: str
    reply: dict[str, str]
    #: a wsroute consumer, judged against the floor and the goal
    judged: bool


VARIANTS = (
    Variant("raw", "/raw/", '{"type": "PING"}', {"type": "PONG"}, judged=False),
    Variant("decorator", "/decorator/", '{"type": "PING"}', {"type": "PONG"}, judged=True),
    Variant("subclass", "/subclass/", '{"event": "ping"}', {"event": "pong"}, judged=True),
    Variant("raw_nohop", "/raw_nohop/", '{"type": "PING"}', {"type": "PONG"}, judged=False),
    Variant("asgi", "/asgi/", '{"type": "PING"}', {"type": "PONG"}, judged=False),
)
BASELINE = "raw"
NOHOP = "raw_nohop"
#: the bare ASGI app: wsroute's server CPU per message should stay within this many times its own
ASGI = "asgi"
ASGI_CPU_TARGET = 2.0


@dataclass(frozen=True)
class Settings:
    connections: int
    #: ping-pongs per connection per variant per round
    messages: int
    #: ping-pongs per connection before timing starts
    warmup: int
    rounds: int
    #: stop adding rounds after this many seconds per server (at least ``min_rounds`` always run)
    budget_s: float
    min_rounds: int
    #: requests a connection sends before it reads their replies (1: request/response)
    window: int = 1


FULL = Settings(connections=4, messages=250, warmup=250, rounds=100, budget_s=75.0, min_rounds=5)
QUICK = Settings(connections=4, messages=150, warmup=100, rounds=20, budget_s=11.0, min_rounds=3)


# ---------------------------------------------------------------------------------------------
# Server subprocesses


def uvicorn_command(port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", APP, "--app-dir", str(BENCH_DIR)),
        *("--host", HOST, "--port", str(port), "--lifespan", "off", "--log-level", "warning", "--no-access-log"),
    ]


def daphne_command(port: int) -> list[str]:
    return [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), "-v", "0", APP]


SERVERS: dict[str, Callable[[int], list[str]]] = {"uvicorn": uvicorn_command, "daphne": daphne_command}


class EchoServer(Server):
    """uvicorn or daphne serving ``echo_app``."""

    def command(self) -> list[str]:
        return SERVERS[self.name](self.port)

    def environment(self) -> dict[str, str]:
        return {**super().environment(), LAYER_ENV: self.layer}


# ---------------------------------------------------------------------------------------------
# Client


@dataclass
class Result:
    server: str
    version: str
    settings: Settings
    samples: dict[str, Samples]
    rounds: int = 0
    elapsed_s: float = 0.0
    error: str | None = None


async def exchange(ws: ClientConnection, request: str, expected: str, count: int, window: int = 1) -> int:
    """``count`` ping-pongs, ``window`` requests sent before their replies are read (1:
    request/response); returns how many replies were not ``expected``."""
    mismatches = 0
    for start in range(0, count, window):
        batch = min(window, count - start)
        for _ in range(batch):
            await ws.send(request)
        for _ in range(batch):
            if await ws.recv() != expected:
                mismatches += 1
    return mismatches


async def first_reply(ws: ClientConnection, variant: Variant) -> str:
    """Check the endpoint answers as it should; returns the exact reply text to expect."""
    async with asyncio.timeout(ROUND_TIMEOUT_S):
        await ws.send(variant.request)
        reply = await ws.recv()
    if not isinstance(reply, str) or json.loads(reply) != variant.reply:
        raise ServerError(f"{variant.path} answered {reply!r} to {variant.request}, expected {variant.reply}")
    return reply


async def run_variant(
    server: Server, conns: Sequence[ClientConnection], variant: Variant, expected: str, count: int, window: int = 1
) -> Sample:
    """Every connection of ``variant`` does ``count`` ping-pongs, all at once."""
    server_cpu = server.cpu_seconds()
    client_cpu = time.process_time()
    start = time.perf_counter()
    jobs = [exchange(ws, variant.request, expected, count, window) for ws in conns]
    async with asyncio.timeout(ROUND_TIMEOUT_S):  # not wait_for(gather()): that leaks a cancelled gather
        mismatches = await asyncio.gather(*jobs)
    wall = time.perf_counter() - start
    client_cpu = time.process_time() - client_cpu
    server_cpu_after = server.cpu_seconds()
    return Sample(
        messages=count * len(conns),
        wall_s=wall,
        client_cpu_s=client_cpu,
        server_cpu_s=None if server_cpu is None or server_cpu_after is None else server_cpu_after - server_cpu,
        mismatches=sum(mismatches),
    )


async def measure(server: Server, settings: Settings, result: Result) -> None:
    """Connect, check every endpoint's reply, warm up, then time interleaved rounds into ``result``."""
    deadline = time.monotonic() + settings.budget_s
    async with contextlib.AsyncExitStack() as stack:
        conns: dict[str, list[ClientConnection]] = {}
        expected: dict[str, str] = {}
        for variant in VARIANTS:
            uri = f"ws://{HOST}:{server.port}{variant.path}"
            conns[variant.name] = [
                await stack.enter_async_context(
                    connect(uri, compression=None, ping_interval=None, open_timeout=10, close_timeout=2)
                )
                for _ in range(settings.connections)
            ]
            for ws in conns[variant.name]:
                expected[variant.name] = await first_reply(ws, variant)
        for variant in VARIANTS:
            await run_variant(
                server, conns[variant.name], variant, expected[variant.name], settings.warmup, settings.window
            )
        measure_start = time.monotonic()
        try:
            while result.rounds < settings.rounds and (
                result.rounds < settings.min_rounds or time.monotonic() < deadline
            ):
                shift = result.rounds % len(VARIANTS)
                round_samples = {
                    variant.name: await run_variant(
                        server, conns[variant.name], variant, expected[variant.name], settings.messages, settings.window
                    )
                    for variant in (*VARIANTS[shift:], *VARIANTS[:shift])
                }
                # only whole rounds count, so every variant has a sample for every round
                for name, sample in round_samples.items():
                    sample.add_to(result.samples[name])
                result.rounds += 1
        finally:
            result.elapsed_s = time.monotonic() - measure_start


async def measure_cancellable(server: Server, settings: Settings, result: Result) -> None:
    Measuring.task = asyncio.current_task()
    try:
        await measure(server, settings, result)
    finally:
        Measuring.task = None


def bench_server(name: str, settings: Settings, layer: str, log_dir: Path, profile_dir: Path | None) -> Result:
    result = Result(name, package_version(name), settings, {variant.name: Samples() for variant in VARIANTS})
    server = EchoServer(name, layer, log_dir, profile_dir)
    try:
        with running(server):
            try:
                asyncio.run(measure_cancellable(server, settings, result))
            except asyncio.CancelledError:
                if Measuring.interrupted:
                    raise KeyboardInterrupt from None
                raise
            except (WebSocketException, OSError, TimeoutError) as exc:
                process = server.process  # still running here unless it died on its own
                exited = "" if process is None or process.poll() is None else f" (server exited: {process.returncode})"
                result.error = f"{type(exc).__name__}: {exc}{exited}\n{server.log_tail()}"
    except ServerError as exc:
        result.error = str(exc)
    return result


# ---------------------------------------------------------------------------------------------
# Report


def ratios(result: Result, name: str, baseline: str = BASELINE) -> list[float]:
    """Per-round msgs/s of ``name`` over that of ``baseline`` in the same round."""
    base = result.samples[baseline].rates
    return [rate / base_rate for rate, base_rate in zip(result.samples[name].rates, base, strict=True)]


def print_result(result: Result, layer: str) -> tuple[int, int]:
    """Print one server's table; returns (targets met, targets judged)."""
    settings = result.settings
    print(
        f"\n{result.server} {result.version}: {result.rounds} rounds in {result.elapsed_s:.1f} s, "
        f"{settings.connections} connections x {settings.messages} ping-pongs per variant per round"
        f"{f' (pipelined: {settings.window} in flight)' if settings.window > 1 else ''}, "
        f"channel layer: {layer}"
    )
    if result.error is not None:
        print(f"  ERROR: {result.error}")
        if result.rounds:
            print(f"  (the table below is from the {result.rounds} whole rounds before the error)")
    if result.rounds == 0:
        print("  no complete round: nothing to report")
        return 0, 0
    header = f"  {'variant':<11}{'msgs/s':>8}  {'vs raw':>6}  {'IQR of ratio':>12}  {'server CPU/msg':>14}"
    print(f"{header}  {'msgs/CPU-s vs raw':>17}  {'client CPU':>10}  {f'floor {FLOOR}x':>10}  {f'goal {GOAL}x':>9}")
    raw_cpu = cpu_per_message(result.samples[BASELINE])
    met = judged = 0
    for variant in VARIANTS:
        samples = result.samples[variant.name]
        ratio_list = ratios(result, variant.name)
        ratio = statistics.median(ratio_list)
        if variant.name == BASELINE:
            iqr = "-"
        elif len(ratio_list) > 1:
            quartiles = statistics.quantiles(ratio_list, n=4)
            iqr = f"{quartiles[0]:.2f}-{quartiles[2]:.2f}"
        else:
            iqr = "-"
        variant_cpu = cpu_per_message(samples)
        cpu = cpu_gain = "n/a"
        if variant_cpu is not None and raw_cpu is not None:
            cpu = f"{variant_cpu * 1e6:.0f} us"
            cpu_gain = f"{raw_cpu / variant_cpu:.2f}x" if variant_cpu > 0 else "inf"
        client = f"{samples.client_cpu_s / samples.wall_s:.0%}"
        floor = goal = "-"
        if variant.judged:
            floor, goal = verdict(ratio, FLOOR), verdict(ratio, GOAL)
            met += (floor == "PASS") + (goal == "PASS")
            judged += 2
        line = f"  {variant.name:<11}{statistics.median(samples.rates):>8.0f}  {ratio:>5.2f}x  {iqr:>12}  {cpu:>14}"
        print(f"{line}  {cpu_gain:>17}  {client:>10}  {floor:>10}  {goal:>9}")
        if samples.mismatches:
            print(f"  ! {variant.name}: {samples.mismatches} replies differed from the first one")
    raw, nohop = result.samples[BASELINE], result.samples[NOHOP]
    hop_ratio = statistics.median(ratios(result, NOHOP))
    line = (
        f"  thread hop: raw_nohop / raw = {hop_ratio:.2f}x, so the hop is {1 - 1 / hop_ratio:.0%} of a stock "
        f"consumer's message time"
    )
    raw_cpu, nohop_cpu = cpu_per_message(raw), cpu_per_message(nohop)
    if raw_cpu is not None and nohop_cpu is not None:
        line += f" ({(raw_cpu - nohop_cpu) * 1e6:.0f} us of server CPU per message)"
    print(line)
    against_nohop = ", ".join(
        f"{variant.name} {statistics.median(ratios(result, variant.name, NOHOP)):.2f}x"
        for variant in VARIANTS
        if variant.judged
    )
    print(f"  wsroute vs raw_nohop (the same consumer without the hop), per-round medians: {against_nohop}")
    asgi_cpu = cpu_per_message(result.samples[ASGI])
    if asgi_cpu is not None and asgi_cpu > 0:
        against_asgi = []
        for variant in VARIANTS:
            variant_cpu = cpu_per_message(result.samples[variant.name])
            if variant.judged and variant_cpu is not None:
                times = variant_cpu / asgi_cpu
                against_asgi.append(f"{variant.name} {times:.2f}x ({verdict(ASGI_CPU_TARGET, times)})")
        print(
            f"  server CPU/msg vs the bare ASGI app ({asgi_cpu * 1e6:.0f} us; target <= {ASGI_CPU_TARGET}x): "
            + ", ".join(against_asgi)
        )
    return met, judged


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds (about 30 s, noisier)")
    parser.add_argument(
        "--servers", nargs="+", choices=tuple(SERVERS), default=list(SERVERS), help="servers to run, in order"
    )
    parser.add_argument(
        "--layer", choices=("none", "inmemory"), default="none", help="CHANNEL_LAYERS of the app (default: none)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run each server under cProfile, writing DIR/<server>.prof (slows the server; numbers not comparable)",
    )
    parser.add_argument(
        "--pipeline",
        type=int,
        default=1,
        metavar="N",
        help="requests each connection sends before reading their replies (default 1: request/response)",
    )
    args = parser.parse_args(argv)
    if args.pipeline < 1:
        parser.error("--pipeline: at least 1")
    settings = dataclasses.replace(QUICK if args.quick else FULL, window=args.pipeline)
    args.profile = start_report(f"wsroute echo benchmark ({'quick' if args.quick else 'full'}", settings, args.profile)
    started = time.monotonic()
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory(prefix="wsroute-bench-") as log_dir:
            for name in args.servers:
                results.append(bench_server(name, settings, args.layer, Path(log_dir), args.profile))
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130

    met = judged = 0
    for result in results:
        server_met, server_judged = print_result(result, args.layer)
        met += server_met
        judged += server_judged
    if args.profile is not None:
        print(f"\nprofiles (cProfile, server main thread): {args.profile}/<server>.prof")
    print(
        f"\n{met}/{judged} targets met in {time.monotonic() - started:.1f} s "
        "(ratios are to raw in the same run; a report: exit 0 either way)"
    )
    return 1 if any(result.rounds == 0 for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
