"""wsroute's layer: the cost of an operation does not grow with the channels a process holds.

Channels' ``InMemoryChannelLayer`` scans every channel and membership on each receive and
group_send, so there the same loop is about a thousand times slower with 20,000 channels
than with 10 (bench/fanout.py measures what that does to a server).
"""

from __future__ import annotations

import asyncio
import gc
import time

from wsroute_django.memory_layer import MemoryChannelLayer


async def busy_loop_seconds(held: int, rounds: int = 500, repeats: int = 5) -> float:
    """Best time of ``rounds`` send/receive/group_send cycles while the layer holds ``held``
    waiting receivers and ``held`` channels with an unread message, each in a group of its own."""
    layer = MemoryChannelLayer()
    waiting = [asyncio.ensure_future(layer.receive(f"idle-{n}")) for n in range(held)]
    for n in range(held):
        await layer.send(f"unread-{n}", {"type": "m"})
        await layer.group_add(f"own-{n}", f"unread-{n}")
        await layer.group_add(f"own-{n}", f"idle-{n}")
    for n in range(10):
        await layer.group_add("room", f"member-{n}")
    await asyncio.sleep(0)
    best = float("inf")
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            for n in range(rounds):
                await layer.send("busy", {"type": "m", "n": n})
                await layer.receive("busy")
                await layer.group_send("room", {"type": "m", "n": n})
                for member in range(10):
                    await layer.receive(f"member-{member}")
            best = min(best, time.perf_counter() - start)
    finally:
        gc.enable()
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
    assert len(layer.channels) == held  # the unread ones
    return best


async def test_operations_cost_the_same_with_20000_channels_held() -> None:
    few = await busy_loop_seconds(10)
    many = await busy_loop_seconds(20_000)
    assert many < 3 * few, f"{many * 1e3:.1f} ms with 20,000 channels held, {few * 1e3:.1f} ms with 10"
