"""Dispatch benchmarks: candidate and baseline measured interleaved in one run (the performance targets in docs).

    python bench/dispatch.py            full run (about 20 s; never much over 50 s)
    python bench/dispatch.py --quick    a few seconds, noisier

Two groups, each printed as ratios to its baseline:

* the routing decision, ``RouteTable.resolve(key)``, for exact tables of 10 to 10,000 routes
  (64 keys spread evenly across the table), once more for 10,000 routes with 4,096 keys (a
  working set beyond the CPU cache: memory cost, shown but not held to the target), and for
  regex tables of 10 and 100 routes (key matching the last pattern), all against the
  10-exact-route table;
* a full cycle, ``Dispatcher.connect(transport, receiver).receive(text)`` (decode, route,
  await an async handler, reply to an in-memory transport), against a bare baseline doing
  ``json.loads`` + dict lookup + the same handler + the reply dict + the same transport.

Method: every case runs a fixed number of operations per timed chunk (calibrated to about the
same wall time), with the garbage collector off during the chunk as ``timeit`` does. A round
times every case of a group once, in an order rotated each round, so slow drift of a noisy
machine hits all cases alike. Reported: the median ns/op of each case, and the median over
rounds of the per-round ratio to the baseline (with its interquartile range). Async cases run
on one event loop, each chunk a plain ``for`` loop of awaits, so loop overhead is the same on
both sides. This is a report, not a test: it exits 0 whether targets are met or not.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic
from pydantic import BaseModel

from wsroute import Dispatcher, RouteTable, RouteTableBuilder

#: A timed chunk: run ``n`` repetitions (of ``Case.ops_per_rep`` operations each), return the elapsed ns.
Chunk = Callable[[int], int]
#: Every resolve case walks a list of this many keys per repetition, so loop overhead is the same for all.
KEYS_PER_REP = 4096
#: Distinct keys looked up in an exact table: enough to visit the whole table, few enough to stay in
#: the CPU cache, so the ratio shows the cost of the decision itself as the table grows.
HOT_KEYS = 64
#: The extra 10,000-route case visits this many keys: a working set (dict entries plus both key
#: strings) larger than a typical L2 cache, so it shows memory effects that no table layout avoids.
COLD_KEYS = 4096


@dataclass(frozen=True)
class Settings:
    rounds: int
    chunk_ms: float
    #: stop adding rounds after this many seconds (at least ``min_rounds`` always run)
    budget_s: float
    min_rounds: int = 5


FULL = Settings(rounds=41, chunk_ms=40.0, budget_s=50.0)
QUICK = Settings(rounds=7, chunk_ms=8.0, budget_s=8.0, min_rounds=3)


@dataclass
class Case:
    label: str
    chunk: Chunk
    target: float | None = None  # maximum ratio to the group's baseline
    ops_per_rep: int = 1
    reps: int = 0
    samples: list[float] = field(default_factory=list)  # ns per op, one per round


@dataclass(frozen=True)
class Row:
    label: str
    ns_per_op: float
    ratio: float
    ratio_iqr: tuple[float, float]
    target: float | None


# ---------------------------------------------------------------------------------------------
# Timing machinery


def timed(chunk: Chunk, n: int) -> int:
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return chunk(n)
    finally:
        if gc_was_enabled:
            gc.enable()


def calibrate(chunk: Chunk, chunk_ms: float) -> int:
    """The repetition count that makes one chunk take about ``chunk_ms`` (after a warm-up)."""
    n = 1
    while True:
        elapsed = timed(chunk, n)
        if elapsed >= chunk_ms * 1e6 / 8 or n >= 1 << 24:
            break
        n *= 2
    return max(1, round(n * chunk_ms * 1e6 / max(elapsed, 1)))


def run_group(cases: Sequence[Case], settings: Settings, deadline: float) -> int:
    """Time every case once per round, rotating the order. Returns the number of rounds run."""
    for case in cases:
        case.reps = calibrate(case.chunk, settings.chunk_ms)
        timed(case.chunk, case.reps)  # warm-up at full size
    rounds = 0
    while rounds < settings.rounds and (rounds < settings.min_rounds or time.monotonic() < deadline):
        start = rounds % len(cases)
        for case in (*cases[start:], *cases[:start]):
            case.samples.append(timed(case.chunk, case.reps) / (case.reps * case.ops_per_rep))
        rounds += 1
    return rounds


def summarise(cases: Sequence[Case]) -> list[Row]:
    baseline = cases[0].samples
    rows = []
    for case in cases:
        ratios = [candidate / base for candidate, base in zip(case.samples, baseline, strict=True)]
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        rows.append(
            Row(
                label=case.label,
                ns_per_op=statistics.median(case.samples),
                ratio=statistics.median(ratios),
                ratio_iqr=(quartiles[0], quartiles[2]),
                target=case.target,
            )
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Routing decision


async def _noop(socket: object, content: dict[str, Any]) -> None:
    return None


def fresh(key: str) -> str:
    """An equal but distinct string object, as ``json.loads`` hands the dispatcher."""
    value = json.loads(json.dumps(key))
    assert isinstance(value, str)
    return value


def exact_table(size: int) -> RouteTable:
    builder = RouteTableBuilder(owner=f"bench exact {size}")
    for i in range(size):
        builder.add(f"app.event_{i:05d}", _noop)
    return builder.build()


def regex_table(size: int) -> RouteTable:
    builder = RouteTableBuilder(owner=f"bench regex {size}")
    for i in range(size):
        builder.add(re.compile(rf"room{i}\.(?P<action>[a-z]+)\.(?P<id>\d+)"), _noop)
    return builder.build()


def resolve_case(label: str, table: RouteTable, keys: list[str], target: float | None = None) -> Case:
    """``KEYS_PER_REP`` lookups per repetition, cycling through ``keys``, built once (not per chunk)."""
    todo = (keys * (KEYS_PER_REP // len(keys) + 1))[:KEYS_PER_REP]

    def chunk(n: int) -> int:
        resolve = table.resolve
        start = time.perf_counter_ns()
        for _ in range(n):
            for key in todo:
                resolve(key)
        return time.perf_counter_ns() - start

    return Case(label, chunk, target, ops_per_rep=KEYS_PER_REP)


def spread_keys(size: int, distinct: int, rng: random.Random) -> list[str]:
    """``distinct`` keys spread evenly over a table of ``size`` exact routes, in a shuffled order."""
    count = min(size, distinct)
    keys = [fresh(f"app.event_{i * size // count:05d}") for i in range(count)]
    rng.shuffle(keys)
    return keys


def routing_cases() -> list[Case]:
    rng = random.Random(1)
    cases: list[Case] = []
    for size in (10, 100, 1_000, 10_000, 10_000):
        table = exact_table(size)
        cold = len(cases) == 4
        keys = spread_keys(size, COLD_KEYS if cold else HOT_KEYS, rng)
        if any(table.resolve(key) is None for key in keys):
            raise RuntimeError("bench bug: an exact key does not resolve")
        if cold:
            label = f"exact, {size:,} routes, {len(keys):,} keys (beyond cache)"
        else:
            label = f"exact, {size:,} routes" + (" (baseline)" if size == 10 else "")
        target = 1.5 if size == 10_000 and not cold else None
        cases.append(resolve_case(label, table, keys, target))
    for size in (10, 100):
        table = regex_table(size)
        keys = [fresh(f"room{size - 1}.join.{i}") for i in range(256)]
        resolved = table.resolve(keys[0])
        if resolved is None or resolved[0] is not table.patterns[-1]:
            raise RuntimeError("bench bug: the regex key must match the last pattern")
        cases.append(resolve_case(f"regex, {size} routes, key matches the last", table, keys))
    return cases


# ---------------------------------------------------------------------------------------------
# Full cycle


class MemoryTransport:
    """Keeps only the last frame (as text), so memory does not grow with the number of messages."""

    def __init__(self) -> None:
        self.scope: Mapping[str, Any] = {"type": "websocket", "path": "/bench/"}
        self.last_text = ""
        self.count = 0

    @property
    def last(self) -> Any:
        return json.loads(self.last_text) if self.last_text else None

    async def send_text(self, text: str) -> None:
        self.last_text = text
        self.count += 1

    async def close_socket(self, code: int, reason: str = "") -> None:
        raise RuntimeError(f"bench transport closed with {code}")


class EchoIn(BaseModel):
    type: str
    text: str
    ref: int | str | None = None


async def echo(socket: object, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "echo", "text": content["text"]}


async def echo_model(socket: object, content: EchoIn) -> dict[str, Any]:
    return {"type": "echo", "text": content.text}


MESSAGE = '{"type": "echo", "text": "hello", "ref": 1}'
EXPECTED = {"type": "echo", "text": "hello", "ref": 1}
#: other names in the table and the baseline dict, so neither is a one-entry special case
OTHER_ROUTES = tuple(f"event_{i}" for i in range(9))


def dispatcher_for(handler: Callable[..., Awaitable[dict[str, Any]]]) -> Dispatcher:
    builder = RouteTableBuilder(owner="bench cycle")
    for name in OTHER_ROUTES:
        builder.add(name, _noop)
    builder.add("echo", handler)
    return Dispatcher(builder.build())


def bare_receiver(transport: MemoryTransport, *, validate: bool) -> Callable[[str], Awaitable[None]]:
    """What a hand-written ``receive_json`` does: decode, look up, call, add ``ref``, send."""
    handlers: dict[str, Callable[..., Awaitable[Any]]] = dict.fromkeys(OTHER_ROUTES, _noop)
    handlers["echo"] = echo_model if validate else echo
    model_validate = EchoIn.model_validate

    async def receive(text: str) -> None:
        content = json.loads(text)
        handler = handlers[content["type"]]
        result = await handler(transport, model_validate(content) if validate else content)
        reply = {**result, "ref": content["ref"]} if "ref" in content else result
        await transport.send_text(json.dumps(reply))  # a real transport sends text, as wsroute does

    return receive


def async_chunk(loop: asyncio.AbstractEventLoop, receive: Callable[[str], Awaitable[None]]) -> Chunk:
    async def many(n: int) -> int:
        text = MESSAGE
        start = time.perf_counter_ns()
        for _ in range(n):
            await receive(text)
        return time.perf_counter_ns() - start

    def chunk(n: int) -> int:
        return loop.run_until_complete(many(n))

    return chunk


def cycle_cases(loop: asyncio.AbstractEventLoop) -> list[Case]:
    sides: list[tuple[str, Callable[[str], Awaitable[None]], MemoryTransport, float | None]] = []

    transport = MemoryTransport()
    sides.append(
        ("bare: json.loads + dict + handler + reply", bare_receiver(transport, validate=False), transport, None)
    )
    transport = MemoryTransport()
    connection = dispatcher_for(echo).connect(transport, receiver=transport)
    sides.append(("wsroute receive(), no validation", connection.receive, transport, 3.0))
    transport = MemoryTransport()
    connection = dispatcher_for(echo_model).connect(transport, receiver=transport)
    sides.append(("wsroute receive(), pydantic model", connection.receive, transport, None))
    transport = MemoryTransport()
    sides.append(("bare + EchoIn.model_validate", bare_receiver(transport, validate=True), transport, None))

    for label, receive, transport, _ in sides:
        loop.run_until_complete(receive(MESSAGE))
        if transport.last != EXPECTED:
            raise RuntimeError(f"bench bug: {label!r} sent {transport.last!r}, expected {EXPECTED!r}")
    return [Case(label, async_chunk(loop, receive), target) for label, receive, _, target in sides]


# ---------------------------------------------------------------------------------------------
# Report


def verdict(row: Row) -> str:
    if row.target is None:
        return ""
    return "PASS" if row.ratio <= row.target else "MISS"


def print_table(title: str, baseline: str, rows: Sequence[Row]) -> None:
    width = max(len(row.label) for row in rows) + 2
    print(f"\n{title}")
    print(f"  {'case':<{width}}{'ns/op':>10}  {'ratio':>7}  {'IQR of ratio':>13}  {'target':>8}  result".rstrip())
    for row in rows:
        iqr = f"{row.ratio_iqr[0]:.2f}-{row.ratio_iqr[1]:.2f}"
        target = f"<= {row.target:.1f}x" if row.target is not None else "-"
        line = (
            f"  {row.label:<{width}}{row.ns_per_op:>10.0f}  {row.ratio:>6.2f}x  {iqr:>13}  {target:>8}  {verdict(row)}"
        )
        print(line.rstrip())
    print(f"  ratio: median over rounds of (case / {baseline}) timed in the same round")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds (noisier)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL

    print(
        f"wsroute dispatch benchmark ({'quick' if args.quick else 'full'}: up to {settings.rounds} interleaved "
        f"rounds, ~{settings.chunk_ms:.0f} ms per timed chunk)"
    )
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), pydantic {pydantic.VERSION}, "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}"
    )
    started = time.monotonic()
    half_budget = started + settings.budget_s / 2

    routing = routing_cases()
    routing_rounds = run_group(routing, settings, half_budget)
    routing_rows = summarise(routing)

    loop = asyncio.new_event_loop()
    try:
        cycle = cycle_cases(loop)
        cycle_rounds = run_group(cycle, settings, started + settings.budget_s)
    finally:
        loop.close()
    cycle_rows = summarise(cycle)

    print_table(f"Routing decision: RouteTable.resolve(key), {routing_rounds} rounds", "exact 10", routing_rows)
    print_table(f"Full cycle: Connection.receive(text), {cycle_rounds} rounds", "bare", cycle_rows)
    validated, bare_validated = cycle[2].samples, cycle[3].samples
    pairwise = statistics.median(a / b for a, b in zip(validated, bare_validated, strict=True))
    print(f"  wsroute with pydantic vs bare + model_validate: {pairwise:.2f}x (same rounds)")

    targets = [row for row in (*routing_rows, *cycle_rows) if row.target is not None]
    passed = sum(verdict(row) == "PASS" for row in targets)
    print(f"\n{passed}/{len(targets)} targets met in {time.monotonic() - started:.1f} s (a report: exit 0 either way)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
