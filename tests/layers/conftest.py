"""Both in-memory layers side by side, and a clock the tests move by hand.

Every test here that takes ``make_layer`` runs twice: once against Channels'
``InMemoryChannelLayer`` and once against wsroute's ``MemoryChannelLayer``, so a passing
run shows the two behave the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import channels.layers
import pytest
from channels.layers import InMemoryChannelLayer

from wsroute_django import memory_layer
from wsroute_django.memory_layer import MemoryChannelLayer

LAYERS = {"channels": InMemoryChannelLayer, "wsroute": MemoryChannelLayer}

#: the reference is the InMemoryChannelLayer of Channels 4.2 and later: 4.1's treats a capacity
#: of 0 or less as "always full", matches channel_capacity patterns differently, and has the
#: older names of the name checks; MemoryChannelLayer behaves as the newer one on every version
REFERENCE_SKIP = pytest.mark.skipif(
    not hasattr(InMemoryChannelLayer, "require_valid_channel_name"),
    reason="Channels 4.1's InMemoryChannelLayer predates the behaviour MemoryChannelLayer matches",
)

Layer = InMemoryChannelLayer | MemoryChannelLayer
MakeLayer = Callable[..., Any]


class Clock:
    """Stands in for the ``time`` module in both layer modules: ``time()`` returns ``now``."""

    def __init__(self, now: float = 1_000_000.25) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextlib.contextmanager
def patched_clock(clock: Clock) -> Iterator[Clock]:
    """Both layer modules read ``clock`` instead of the wall clock (they call ``time.time()``)."""
    saved = channels.layers.time, memory_layer.time
    channels.layers.time = clock  # type: ignore[assignment]
    memory_layer.time = clock  # type: ignore[assignment]
    try:
        yield clock
    finally:
        channels.layers.time, memory_layer.time = saved


@pytest.fixture
def clock() -> Iterator[Clock]:
    with patched_clock(Clock()) as fake:
        yield fake


@pytest.fixture(params=[pytest.param("channels", marks=REFERENCE_SKIP), "wsroute"], ids=list(LAYERS))
def layer_class(request: pytest.FixtureRequest) -> type[Any]:
    return LAYERS[request.param]


@pytest.fixture
def make_layer(layer_class: type[Any]) -> MakeLayer:
    """``make_layer(**config)``: a new layer of the class under test."""
    return layer_class


async def receive_now(layer: Any, channel: str) -> dict[str, Any] | None:
    """The message ``receive`` returns at once, or None if it would wait (it is then cancelled)."""
    task = asyncio.ensure_future(layer.receive(channel))
    for _ in range(3):
        await asyncio.sleep(0)
    if task.done():
        result: dict[str, Any] = task.result()
        return result
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


def members(layer: Any, group: str) -> set[str]:
    """The channels in ``group`` (both layers keep ``groups[group] = {channel: joined_at}``)."""
    return set(layer.groups.get(group, {}))


def pending(layer: Any) -> dict[str, list[tuple[float, dict[str, Any]]]]:
    """Every channel's queued ``(expires, message)`` pairs, whichever layer."""
    if isinstance(layer, InMemoryChannelLayer):
        return {name: list(queue._queue) for name, queue in layer.channels.items()}
    return {name: list(state.messages) for name, state in layer.channels.items()}


def snapshot(layer: Any) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """What a layer holds, comparable across the two (Channels' layer keeps emptied groups)."""
    groups = {group: dict(channels) for group, channels in layer.groups.items() if channels}
    return pending(layer), groups
