"""Fan-out against stock Channels: a wsroute group against a hand-written Channels group.

    python bench/fanout_stock.py                    in-memory and Redis (about 3 minutes)
    python bench/fanout_stock.py --quick            about a minute, noisier
    python bench/fanout_stock.py --redis-url ''     in-memory only

The app is ``bench/fanout_app.py``, one server process (uvicorn by default) per channel layer,
side by side for the whole run: Channels' ``InMemoryChannelLayer``, wsroute's
``MemoryChannelLayer`` and channels-redis (``--redis-url``; skipped with a line when Redis is
not reachable). On each, 100 member sockets and one sender, in two styles:

* ``stock``: ``AsyncJsonWebsocketConsumer``s as a Channels project writes them, the sender's
  ``receive_json`` calling ``channel_layer.group_send(group, {"type": "shouted", "n": n})`` and
  each member's ``shouted`` method sending ``{"event": "shouted", "n": n}``;
* ``wsroute``: ``JSONWebSocket``s, the sender's ``on_shout`` calling
  ``self.group_send(group, "shouted", {"n": n})``; members send the same frame.

The sender shouts with at most 20 shouts in flight; every member checks it gets every ``n`` in
order. Measured: deliveries (member frames) per second. A round runs every (layer, style)
variant once, for 2 s each (1 s with ``--quick``), the order rotated each round. Reported: the
median deliveries/s, the median over rounds of the per-round ratio to ``stock`` on the same
layer (with its interquartile range) against the target (2x), the server's CPU per delivery
(from /proc), and wsroute on ``MemoryChannelLayer`` against stock on ``InMemoryChannelLayer``
(what each gets from its own defaults).

A report, not a test: exit 0 whatever the numbers (1 when it could not run, 130 when interrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from _harness import Measuring, Sample, Samples, ServerError, cpu_per_message, package_version, running, verdict
from fanout import FULL, QUICK, FanOut, FanoutServer
from websockets.exceptions import WebSocketException

#: the ratio of wsroute to stock on the same layer the performance targets ask for
TARGET = 2.0
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_ENV = "WSROUTE_BENCH_REDIS_URL"  # read by fanout_app
LAYER_NAMES = {"inmemory": "InMemoryChannelLayer", "memory": "MemoryChannelLayer", "redis": "channels-redis"}
#: the paths of each style in fanout_app
PREFIXES = {"stock": "/stock/", "wsroute": "/"}


@dataclass(frozen=True)
class Variant:
    layer: str
    style: str

    @property
    def name(self) -> str:
        return f"{self.layer}/{self.style}"


@dataclass
class Result:
    server: str
    variants: list[Variant]
    samples: dict[str, Samples] = field(default_factory=dict)
    rounds: int = 0
    elapsed_s: float = 0.0
    error: str | None = None


def variants_for(layers: Sequence[str]) -> list[Variant]:
    found = []
    for layer in layers:
        styles = ("wsroute",) if layer == "memory" else ("stock", "wsroute")
        found += [Variant(layer, style) for style in styles]
    return found


async def redis_reachable(url: str) -> bool:
    try:
        from redis.asyncio import Redis
    except ImportError:
        return False
    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


async def measure(servers: dict[str, FanoutServer], result: Result, quick: bool) -> None:
    settings = QUICK if quick else FULL
    Measuring.task = asyncio.current_task()
    try:
        async with contextlib.AsyncExitStack() as stack:
            fans = {
                variant.name: await FanOut.open(
                    servers[variant.layer], settings.members, stack, PREFIXES[variant.style]
                )
                for variant in result.variants
            }
            for variant in result.variants:  # warm-up
                await fans[variant.name].run(settings.warmup_s, settings.window)
            started = time.monotonic()
            try:
                while result.rounds < settings.rounds and (
                    result.rounds < settings.min_rounds or time.monotonic() - started < settings.budget_s
                ):
                    names = [variant.name for variant in result.variants]
                    shift = result.rounds % len(names)
                    samples: dict[str, Sample] = {}
                    for name in (*names[shift:], *names[:shift]):
                        samples[name] = await fans[name].run(settings.part_s, settings.window)
                    for name, sample in samples.items():
                        sample.add_to(result.samples.setdefault(name, Samples()))
                    result.rounds += 1
            finally:
                result.elapsed_s = time.monotonic() - started
    finally:
        Measuring.task = None


def bench(server_name: str, layers: Sequence[str], quick: bool, log_dir: Path) -> Result:
    result = Result(f"{server_name} {package_version(server_name)}", variants_for(layers))
    servers = {layer: FanoutServer(server_name, layer, log_dir, None) for layer in layers}
    try:
        with contextlib.ExitStack() as stack:
            for server in servers.values():
                stack.enter_context(running(server))
            try:
                asyncio.run(measure(servers, result, quick))
            except asyncio.CancelledError:
                if Measuring.interrupted:
                    raise KeyboardInterrupt from None
                raise
            except (WebSocketException, OSError, EOFError, TimeoutError, ServerError) as exc:
                tails = "\n".join(f"{server.name}:\n{server.log_tail()}" for server in servers.values())
                result.error = f"{type(exc).__name__}: {exc}\n{tails}"
    except ServerError as exc:
        result.error = str(exc)
    return result


def ratios(result: Result, name: str, baseline: str) -> list[float]:
    pairs = zip(result.samples[name].rates, result.samples[baseline].rates, strict=True)
    return [rate / base for rate, base in pairs]


def describe(values: list[float]) -> str:
    median = statistics.median(values)
    if len(values) < 2:
        return f"{median:.2f}x"
    quartiles = statistics.quantiles(values, n=4)
    return f"{median:.2f}x (IQR {quartiles[0]:.2f}-{quartiles[2]:.2f})"


def report(result: Result) -> tuple[int, int]:
    """Print one server's table; returns (targets met, targets judged)."""
    print(f"\n{result.server}: {result.rounds} rounds in {result.elapsed_s:.1f} s")
    if result.error is not None:
        print(f"  ERROR: {result.error}")
    if result.rounds == 0:
        print("  no complete round: nothing to report")
        return 0, 0
    print(f"  {'variant':<30}{'deliveries/s':>13}  {'server CPU/delivery':>20}  {'vs stock, same layer':>28}")
    met = judged = 0
    for variant in result.variants:
        samples = result.samples[variant.name]
        cpu = cpu_per_message(samples)
        cpu_text = "n/a" if cpu is None else f"{cpu * 1e6:.1f} us"
        stock = f"{variant.layer}/stock"
        against = "-"
        if variant.style == "wsroute" and stock in result.samples:
            values = ratios(result, variant.name, stock)
            judged += 1
            passed = verdict(statistics.median(values), TARGET)
            met += passed == "PASS"
            against = f"{describe(values)} {passed}"
        label = f"{LAYER_NAMES[variant.layer]} {variant.style}"
        print(f"  {label:<30}{statistics.median(samples.rates):>13,.0f}  {cpu_text:>20}  {against:>28}")
        if samples.mismatches:
            print(f"  ! {label}: {samples.mismatches} frames out of order, missing or wrong")
    if "memory/wsroute" in result.samples and "inmemory/stock" in result.samples:
        values = ratios(result, "memory/wsroute", "inmemory/stock")
        print(f"  wsroute on MemoryChannelLayer vs stock on InMemoryChannelLayer: {describe(values)}")
    return met, judged


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds (noisier)")
    parser.add_argument("--servers", nargs="+", choices=("uvicorn", "daphne"), default=["uvicorn"])
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help=f"'' skips Redis (default {DEFAULT_REDIS_URL})")
    args = parser.parse_args(argv)
    layers = ["inmemory", "memory"]
    if args.redis_url and asyncio.run(redis_reachable(args.redis_url)):
        layers.append("redis")
        os.environ[REDIS_ENV] = args.redis_url  # the servers inherit it
    elif args.redis_url:
        print(f"Redis at {args.redis_url} is not reachable: channels-redis skipped")
    print(f"wsroute fan-out against stock Channels ({'quick' if args.quick else 'full'}), layers: {', '.join(layers)}")
    print(
        f"Python {sys.version.split()[0]}, channels {package_version('channels')}, wsroute {package_version('wsroute')}"
    )
    met = judged = 0
    try:
        with tempfile.TemporaryDirectory(prefix="wsroute-bench-") as log_dir:
            results = [bench(name, layers, args.quick, Path(log_dir)) for name in args.servers]
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    for result in results:
        server_met, server_judged = report(result)
        met += server_met
        judged += server_judged
    print(f"\n{met}/{judged} targets met (ratios are per round, same layer, same server; a report: exit 0 either way)")
    return 0 if all(result.rounds for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
