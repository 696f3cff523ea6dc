"""Sending to many sockets in one process: per-process batching and topic fan-out.

    python bench/topics.py                      both scenarios on channels-redis (redis://127.0.0.1:6379/0)
    python bench/topics.py --layer memory       on Channels' InMemoryChannelLayer
    python bench/topics.py --redis redis://127.0.0.1:6379/4 --rounds 5 --sockets 1000

Everything runs in this one process: consumers are driven through their ASGI interface (no
network, no WebSocket client), so the figures are the server side's cost alone. Socket rows
live in a SQLite file in a temporary directory.

* **queryset**: ``--sockets`` (1,000) persisted ``JSONWebSocket`` sockets. One send to all of
  them, ``Socket.objects.all().asend_json(...)``, done two ways: ``each`` (one ``layer.send``
  per socket, as before per-process batching; the code is kept here) and ``batched`` (today's:
  one ``wsroute.batch`` message per server process, fanned out in memory). Measured per send:
  the sender's time until the call returns, and until every socket has been handed its frame.
* **topic**: 100 members and a sender. The sender's socket broadcasts to a wsroute topic it
  joined; the baseline is a stock Channels ``AsyncJsonWebsocketConsumer`` whose handler does
  ``group_send`` to a Channels group its 100 members joined, with a ``chat_message`` method
  that ``send_json``s the event. Measured: deliveries (member frames) per second, at most 20
  broadcasts in flight.

Method: rounds alternate the variants (their order rotated each round), so drift hits both
alike; reported are medians over rounds and the median per-round ratio. A report, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import django
from django.conf import settings


def configure(layer: str, redis_url: str, db: Path) -> None:
    if layer == "redis":
        host = {"address": redis_url, "socket_timeout": 10, "max_connections": 1000}
        layers = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [host], "capacity": 1000},
            }
        }
    else:
        layers = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}
    settings.configure(
        DEBUG=False,
        SECRET_KEY="wsroute-bench-not-secret",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "channels",
            "wsroute_django",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db), "CONN_MAX_AGE": 60}},
        CHANNEL_LAYERS=layers,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        WSROUTE={"PERSIST": True, "HEARTBEAT_INTERVAL": 3600, "STALE_AFTER": 7200, "RATE_LIMIT": None},
    )
    django.setup()


class Driven:
    """One consumer instance driven through ASGI: frames it sends are counted, not kept."""

    def __init__(self, app: Any, path: str, counter: Counter) -> None:
        self.inputs: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.accepted = asyncio.Event()
        self.counter = counter
        scope = {"type": "websocket", "path": path, "headers": [], "subprotocols": [], "query_string": b""}
        self.task = asyncio.ensure_future(app(scope, self.inputs.get, self._send))

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.accept":
            self.accepted.set()
        elif message["type"] == "websocket.send":
            self.counter.hit()

    async def open(self) -> None:
        await self.inputs.put({"type": "websocket.connect"})
        await asyncio.wait_for(self.accepted.wait(), 30)

    async def say(self, text: str) -> None:
        await self.inputs.put({"type": "websocket.receive", "text": text})

    async def close(self) -> None:
        await self.inputs.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait({self.task}, timeout=10)


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.reached = asyncio.Event()

    def expect(self, total: int) -> None:
        self.count, self.target = 0, total
        self.reached.clear()

    def hit(self) -> None:
        self.count += 1
        if self.count >= self.target:
            self.reached.set()


async def open_all(app: Any, path: str, count: int, counter: Counter) -> list[Driven]:
    sockets = [Driven(app, path, counter) for _ in range(count)]
    for start in range(0, count, 50):
        await asyncio.gather(*(s.open() for s in sockets[start : start + 50]))
    return sockets


async def close_all(sockets: list[Driven]) -> None:
    await asyncio.gather(*(s.close() for s in sockets))


async def interleave(variants: dict[str, Callable[[], Awaitable[float]]], rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for n in range(rounds):
        order = names[n % len(names) :] + names[: n % len(names)]
        for name in order:
            results[name].append(await variants[name]())
    return results


def report(title: str, unit: str, results: dict[str, list[float]], baseline: str, better: str) -> None:
    print(f"\n{title}")
    for name, values in results.items():
        rounds = ", ".join(f"{value:.3f}" for value in values)
        print(f"  {name:>10}: median {statistics.median(values):12.3f} {unit}  (rounds: {rounds})")
    other = next(name for name in results if name != baseline)
    ratios = [a / b for a, b in zip(results[other], results[baseline], strict=True)]
    print(f"  ratio {other}/{baseline}: median {statistics.median(ratios):.3f} ({better} is better)")


async def queryset_scenario(count: int, rounds: int) -> None:
    from channels.layers import get_channel_layer

    from wsroute_django import JSONWebSocket, layer
    from wsroute_django.models import Socket

    class Member(JSONWebSocket):
        persist = True

    counter = Counter()
    sockets = await open_all(Member.as_asgi(), "/members/", count, counter)
    channel_layer = get_channel_layer()
    sender_times: dict[str, list[float]] = {"each": [], "batched": []}

    async def each() -> None:  # the code before per-process batching
        message = layer.send({"event": "news"})
        names = [name async for name in Socket.objects.values_list("channel_name", flat=True)]
        for name in names:
            await channel_layer.send(name, message)

    async def batched() -> None:
        await Socket.objects.all().asend_json({"event": "news"})

    def timed(name: str, send: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[float]]:
        async def run() -> float:
            counter.expect(count)
            started = time.perf_counter()
            await send()
            sender_times[name].append((time.perf_counter() - started) * 1000)
            await asyncio.wait_for(counter.reached.wait(), 60)
            return (time.perf_counter() - started) * 1000

        return run

    await timed("each", each)()  # warm up both paths
    await timed("batched", batched)()
    for times in sender_times.values():
        times.clear()
    delivered = await interleave({"each": timed("each", each), "batched": timed("batched", batched)}, rounds)
    report(f"queryset send to {count} sockets: until every socket has its frame", "ms", delivered, "each", "lower")
    report(f"queryset send to {count} sockets: until the sender's call returns", "ms", sender_times, "each", "lower")
    await close_all(sockets)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layer", choices=["memory", "redis"], default="redis")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scenario", choices=["queryset", "topic", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=2.0, help="per round of the topic scenario")
    args = parser.parse_args(argv)
    global SECONDS
    SECONDS = args.seconds
    with tempfile.TemporaryDirectory() as tmp:
        configure(args.layer, args.redis, Path(tmp) / "bench.sqlite3")
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        print(f"python {sys.version.split()[0]}, django {django.__version__}, layer {args.layer}, pid {os.getpid()}")
        asyncio.run(run(args))
    return 0


async def run(args: argparse.Namespace) -> None:
    if args.scenario in ("queryset", "both"):
        await queryset_scenario(args.sockets, args.rounds)
    if args.scenario in ("topic", "both"):
        await topic_scenario(args.rounds)


MEMBERS = 100
IN_FLIGHT = 20
SECONDS = 2.0


async def topic_scenario(rounds: int) -> None:
    import json

    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    from wsroute_django import JSONWebSocket, topic

    class WsrouteFan(JSONWebSocket):
        persist = False

        @topic("fan")
        def join_fan(self) -> None:
            pass

        async def on_shout(self, event: dict[str, Any]) -> None:
            await self.broadcast("fan", "shouted", {"n": event["n"]})

    class StockFan(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
        async def connect(self) -> None:
            await self.channel_layer.group_add("fan-stock", self.channel_name)
            await self.accept()

        async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
            await self.channel_layer.group_send("fan-stock", {"type": "fan.shouted", "n": content["n"]})

        async def fan_shouted(self, message: dict[str, Any]) -> None:
            await self.send_json({"event": "shouted", "topic": "fan", "n": message["n"]})

    variants: dict[str, tuple[list[Driven], Driven, Counter]] = {}
    for name, consumer in (("channels", StockFan), ("wsroute", WsrouteFan)):
        counter = Counter()
        members = await open_all(consumer.as_asgi(), "/fan/", MEMBERS, counter)
        if name == "wsroute":
            counter.expect(MEMBERS)
            for member in members:
                await member.say(json.dumps({"event": "join", "topic": "fan"}))
            await asyncio.wait_for(counter.reached.wait(), 30)  # every join reply
        sender = (await open_all(consumer.as_asgi(), "/fan/", 1, Counter()))[0]
        variants[name] = (members, sender, counter)

    def measure(name: str) -> Callable[[], Awaitable[float]]:
        _, sender, counter = variants[name]

        async def run() -> float:
            delivered = 0
            started = time.perf_counter()
            n = 0
            while time.perf_counter() - started < SECONDS:
                counter.expect(IN_FLIGHT * MEMBERS)
                for _ in range(IN_FLIGHT):
                    n += 1
                    await sender.say(json.dumps({"event": "shout", "n": n}))
                await asyncio.wait_for(counter.reached.wait(), 60)
                delivered += counter.count
            return delivered / (time.perf_counter() - started)

        return run

    for name in variants:
        await measure(name)()  # warm up
    results = await interleave({"channels": measure("channels"), "wsroute": measure("wsroute")}, rounds)
    report(
        f"fan-out to a {MEMBERS}-member topic (wsroute) / Channels group (stock consumer), {IN_FLIGHT} in flight",
        "deliveries/s",
        results,
        "channels",
        "higher",
    )
    for members, sender, _ in variants.values():
        await close_all([*members, sender])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
