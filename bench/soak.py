"""Soak a real daphne process: many sockets doing request/response for a while, none lost.

    python bench/soak.py                                  1,000 sockets for 60 s
    python bench/soak.py --sockets 200 --seconds 10       a quick run
    python bench/soak.py --database-url postgres://postgres@127.0.0.1:5432/test \\
                         --redis-url redis://127.0.0.1:6379/0

The server, its database and channel layer are set up as in ``bench/fuzz.py``, by the same
helpers (``bench/_stress.py``): one daphne process on 127.0.0.1 serving ``tests/e2e/project``;
PostgreSQL and channels-redis when their URLs are given, SQLite and the in-memory layer
otherwise; loopback addresses only.

Sockets alternate between the decorator style (``/stress/dec/``) and the subclass style
(``/stress/sub/``) and are opened ``--batch`` at a time, each batch once the previous one is
open, so no handshake waits near daphne's 5 s timeout. Every socket then sends a request every
``--interval`` seconds on average (uniformly 0.5x to 1.5x, one at a time), alternating between
the ``async`` and the sync echo handler, each with its own ``ref``, and checks the reply is
exactly the expected one. One socket in ``--every`` (both styles) joined the group
``stress.members`` when it connected; one more socket broadcasts to it (``SHOUT``, numbered)
every ``--broadcast-interval`` seconds, and every member must receive every broadcast exactly
once. After ``--seconds`` the sockets close together, and the server's ``Socket`` rows and
channels-redis group members must drain to zero.

Printed per style and handler kind: requests, lost and mismatched replies, p50/p99 latency;
then broadcasts, sockets closed unexpectedly, rows and group members left, server RSS. Exit
status 1 on any loss, mismatch, death or leftover, 130 when interrupted.
"""

from __future__ import annotations

import asyncio
import collections
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):  # run as a script: the repository root makes bench and tests importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.support import Cluster, Server
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench._stress import (
    DECORATOR,
    OPEN_BATCH,
    REPLY_TIMEOUT,
    STYLES,
    Footprint,
    Report,
    StressSocket,
    Style,
    argument_parser,
    drained,
    dumps,
    open_sockets,
    run_bench,
    services,
    versions,
)

KINDS: Final = ("async", "sync")
#: seconds every member gets to receive the last broadcast
BROADCAST_DRAIN: Final = 30.0


@dataclass(frozen=True)
class SoakConfig:
    sockets: int = 1000
    seconds: float = 60.0
    #: mean seconds between two requests of one socket
    interval: float = 2.0
    #: one socket in this many joins the broadcast group
    every: int = 10
    #: seconds between two broadcasts
    broadcast_interval: float = 1.0
    #: sockets opened at once
    batch: int = OPEN_BATCH
    seed: int = 0


@dataclass
class Bucket:
    """Requests of one style and handler kind."""

    sent: int = 0
    ok: int = 0
    lost: int = 0
    mismatched: int = 0
    latencies: list[float] = field(default_factory=list)

    def percentile(self, q: int) -> str:
        if not self.latencies:
            return "-"
        if len(self.latencies) == 1:
            return f"{self.latencies[0] * 1000:.1f} ms"
        return f"{statistics.quantiles(self.latencies, n=100, method='inclusive')[q - 1] * 1000:.1f} ms"


@dataclass
class Soak:
    """What all sockets saw."""

    buckets: dict[tuple[str, str], Bucket] = field(
        default_factory=lambda: {(style.name, kind): Bucket() for style in STYLES for kind in KINDS}
    )
    samples: list[str] = field(default_factory=list)
    unasked: int = 0

    def sample(self, text: str) -> None:
        if len(self.samples) < 10:
            self.samples.append(text)


class SoakSocket(StressSocket):
    def __init__(self, index: int, style: Style, member: bool, ws: ClientConnection, soak: Soak) -> None:
        super().__init__(index, style, ws)
        self.member = member
        self.soak = soak
        self.waiting: dict[str, asyncio.Future[dict[str, Any] | None]] = {}
        self.broadcasts: collections.Counter[int] = collections.Counter()
        self.start()

    def on_frame(self, text: str | bytes, frame: dict[str, Any] | None) -> None:
        if frame is None:
            self.soak.unasked += 1
            self.soak.sample(f"socket {self.index}: not a JSON object: {str(text)[:120]!r}")
            return
        ref = frame.get("ref")
        waiter = self.waiting.pop(ref, None) if isinstance(ref, str) else None
        if waiter is not None:
            if not waiter.done():
                waiter.set_result(frame)
        elif self.member and frame.get(self.style.key) == "BCAST" and isinstance(frame.get("seq"), int):
            self.broadcasts[frame["seq"]] += 1
        else:
            self.soak.unasked += 1
            self.soak.sample(f"socket {self.index} ({self.style.name}): unasked-for {str(text)[:120]!r}")

    def on_end(self) -> None:
        for waiter in self.waiting.values():
            if not waiter.done():
                waiter.set_result(None)  # no reply will come

    async def request(self, frame: dict[str, Any]) -> tuple[dict[str, Any] | None, float]:
        """Send ``frame`` (its ``ref`` a string) and wait for the frame with its ``ref``: (frame or None, seconds)."""
        waiter: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self.waiting[frame["ref"]] = waiter
        started = time.perf_counter()
        try:
            await self.ws.send(dumps(frame))
            answer = await asyncio.wait_for(waiter, REPLY_TIMEOUT)
        except (ConnectionClosed, TimeoutError):
            answer = None
        self.waiting.pop(frame["ref"], None)
        return answer, time.perf_counter() - started

    async def run(self, until: float, interval: float, rng: random.Random) -> None:
        style = self.style
        await asyncio.sleep(rng.uniform(0, interval))  # spread the first requests
        count = 0
        while time.monotonic() < until and self.died is None:
            count += 1
            kind = KINDS[(count + self.index) % 2]
            ref = f"{self.index}.{count}"
            text = f"soak {self.index} ✓ {count}"
            route = style.route("echo" if kind == "async" else "echo_sync")
            answer, seconds = await self.request({style.key: route, "n": count, "text": text, "ref": ref})
            bucket = self.soak.buckets[style.name, kind]
            bucket.sent += 1
            want = {style.key: style.route("echoed"), "n": count, "text": text, "handler": kind, "ref": ref}
            if answer is None:
                bucket.lost += 1
                self.soak.sample(f"socket {self.index} ({style.name}, {kind}): no reply to ref {ref}")
            elif answer != want:
                bucket.mismatched += 1
                self.soak.sample(f"socket {self.index} ({style.name}, {kind}): {dumps(answer)[:120]}, wanted {want}")
            else:
                bucket.ok += 1
                bucket.latencies.append(seconds)
            pause = rng.uniform(0.5, 1.5) * interval  # pacing: a modest rate
            if time.monotonic() + pause >= until:
                break
            await asyncio.sleep(pause)


async def open_batches(
    server: Server, wanted: Sequence[tuple[int, Style, bool]], batch: int, soak: Soak
) -> tuple[list[SoakSocket], list[str]]:
    """Open the sockets ``batch`` at a time; return them and the connection failures."""
    sockets: list[SoakSocket] = []
    failures: list[str] = []
    opened = await open_sockets(server, [f"{style.path}?join={int(member)}" for _, style, member in wanted], batch)
    for (index, style, member), ws in zip(wanted, opened, strict=True):
        if isinstance(ws, BaseException):
            failures.append(f"socket {index} ({style.name}) could not connect: {type(ws).__name__}: {ws}")
        else:
            sockets.append(SoakSocket(index, style, member, ws, soak))
    return sockets, failures


async def shout(shouter: SoakSocket, until: float, every: float) -> tuple[int, int]:
    """Broadcast ``SHOUT`` 1, 2, ... until ``until``; return (broadcasts acknowledged, asked)."""
    seq = acknowledged = 0
    while time.monotonic() < until and shouter.died is None:
        seq += 1
        ref = f"shout.{seq}"
        answer, _ = await shouter.request({"type": "SHOUT", "seq": seq, "ref": ref})
        acknowledged += answer == {"type": "SHOUTED", "seq": seq, "ref": ref}
        await asyncio.sleep(every)  # pacing
    return acknowledged, seq


async def run_soak(cluster: Cluster, config: SoakConfig) -> Report:
    report = Report(
        f"wsroute soak: {config.sockets} sockets for {config.seconds:.0f} s, a request every ~{config.interval:g} s "
        f"each, 1 in {config.every} in a broadcast group (a broadcast every {config.broadcast_interval:g} s), "
        f"daphne on {services(cluster)}\n{versions()}"
    )
    server = await cluster.start("soak")
    soak = Soak()
    wanted = [(i, STYLES[i % 2], (i // 2) % config.every == 0) for i in range(config.sockets)]
    connect_started = time.monotonic()
    sockets, connect_failures = await open_batches(server, wanted, config.batch, soak)
    connect_seconds = time.monotonic() - connect_started
    shouters, failures = await open_batches(server, [(config.sockets, DECORATOR, False)], 1, soak)
    connect_failures += failures
    everyone = sockets + shouters
    try:
        footprint = await Footprint.opened(cluster, server)
        members = [s for s in sockets if s.member]
        started = time.monotonic()
        until = started + config.seconds
        runs = [s.run(until, config.interval, random.Random(f"{config.seed}:{s.index}")) for s in sockets]
        shouted = asyncio.ensure_future(
            shout(shouters[0], until, config.broadcast_interval) if shouters else asyncio.sleep(0, (0, 0))
        )
        await asyncio.gather(*runs)
        acknowledged, broadcasts = await shouted
        elapsed = time.monotonic() - started
        footprint.loaded(server)

        async def missing() -> int:
            live = [s for s in members if s.died is None]
            return sum(1 for s in live for seq in range(1, broadcasts + 1) if not s.broadcasts[seq])

        broadcasts_missing = await drained(missing, BROADCAST_DRAIN)
        duplicates = sum(n - 1 for s in members for n in s.broadcasts.values() if n > 1)
        strays = sum(1 for s in members for seq in s.broadcasts if not 1 <= seq <= broadcasts)
    finally:
        closing_started = time.monotonic()
        await asyncio.gather(*(s.close() for s in everyone), return_exceptions=True)
        closing_seconds = time.monotonic() - closing_started
    await footprint.closed(cluster, server)

    deaths = [s.died for s in everyone if s.died]
    report.line(
        f"connected {len(sockets)} sockets (+1 broadcaster) in {connect_seconds:.1f} s, {config.batch} at a time; "
        f"{len(connect_failures)} could not connect"
    )
    header = f"{'style':<10} {'handler':<7} {'requests':>8} {'ok':>8} {'lost':>5} {'mismatched':>10}"
    report.line(f"{header} {'p50':>10} {'p99':>10}")
    totals = Bucket()
    for (style, kind), bucket in soak.buckets.items():
        report.line(
            f"{style:<10} {kind:<7} {bucket.sent:>8} {bucket.ok:>8} {bucket.lost:>5} {bucket.mismatched:>10} "
            f"{bucket.percentile(50):>10} {bucket.percentile(99):>10}"
        )
        totals.sent += bucket.sent
        totals.ok += bucket.ok
        totals.lost += bucket.lost
        totals.mismatched += bucket.mismatched
        totals.latencies += bucket.latencies
    report.line(
        f"{'all':<10} {'':<7} {totals.sent:>8} {totals.ok:>8} {totals.lost:>5} {totals.mismatched:>10} "
        f"{totals.percentile(50):>10} {totals.percentile(99):>10}   ({totals.sent / elapsed:.0f} requests/s over "
        f"{elapsed:.1f} s)"
    )
    report.line(
        f"broadcasts: {broadcasts} sent ({acknowledged} acknowledged) to {len(members)} members "
        f"({sum(1 for s in members if s.style is DECORATOR)} decorator, "
        f"{sum(1 for s in members if s.style is not DECORATOR)} subclass): {broadcasts_missing} deliveries missing, "
        f"{duplicates} duplicated, {strays} unknown"
    )
    per_style = collections.Counter(s.style.name for s in everyone if s.died)
    report.line(
        f"sockets closed unexpectedly: {len(deaths)} of {len(everyone)}"
        + (f" ({', '.join(f'{name} {n}' for name, n in per_style.items())})" if deaths else "")
        + "".join(f"\n  {death}" for death in deaths[:10])
    )
    report.line(f"unasked-for frames: {soak.unasked}")
    report.line(footprint.rows_line(f" (closing took {closing_seconds:.1f} s)"))
    report.line(footprint.server_line(server, "after the soak"))
    for sample in soak.samples:
        report.line(f"  e.g. {sample}")

    footprint.check(report, len(everyone))
    report.check(not connect_failures, f"{len(connect_failures)} sockets could not connect")
    report.check(not deaths, f"{len(deaths)} sockets closed unexpectedly")
    report.check(totals.lost == 0, f"{totals.lost} lost replies")
    report.check(totals.mismatched == 0, f"{totals.mismatched} mismatched replies")
    report.check(soak.unasked == 0, f"{soak.unasked} unasked-for frames")
    report.check(acknowledged == broadcasts, f"{broadcasts - acknowledged} broadcasts not acknowledged")
    report.check(broadcasts_missing == 0, f"{broadcasts_missing} broadcast deliveries missing")
    report.check(duplicates == 0 and strays == 0, f"{duplicates} duplicated and {strays} unknown broadcasts")
    report.check(not members or broadcasts > 0, "no broadcast was sent")
    report.check(all(b.sent for b in soak.buckets.values()), "a style or handler kind sent no request")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(__doc__)
    defaults = SoakConfig()
    parser.add_argument("--sockets", type=int, default=defaults.sockets, help="sockets (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=defaults.seconds, help="duration (default: %(default)s)")
    parser.add_argument("--interval", type=float, default=defaults.interval, help="mean seconds between requests")
    parser.add_argument("--every", type=int, default=defaults.every, help="one socket in EVERY joins the group")
    parser.add_argument("--broadcast-interval", type=float, default=defaults.broadcast_interval)
    parser.add_argument("--batch", type=int, default=defaults.batch, help="sockets opened at once")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args(argv)
    if args.sockets < 1 or args.seconds <= 0 or args.interval <= 0 or args.every < 1 or args.batch < 1:
        parser.error("--sockets, --seconds, --interval, --every and --batch must be positive")
    config = SoakConfig(
        sockets=args.sockets,
        seconds=args.seconds,
        interval=args.interval,
        every=args.every,
        broadcast_interval=args.broadcast_interval,
        batch=args.batch,
        seed=args.seed,
    )
    return run_bench(args, lambda cluster: run_soak(cluster, config))


if __name__ == "__main__":
    sys.exit(main())
