"""Random operation sequences give the same results and leave the same state in both layers.

A hypothesis state machine drives Channels' ``InMemoryChannelLayer`` and wsroute's
``MemoryChannelLayer`` side by side, with one hand-moved clock: every send, receive, group
operation, flush and clock step must return (or raise) the same in both, and afterwards
both must hold the same queued messages (with the same expiry times) and the same group
memberships (with the same join times). Received messages are mutated afterwards, so a copy
shared between receivers would show up as a difference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import InMemoryChannelLayer
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.layers.conftest import REFERENCE_SKIP, Clock, patched_clock, receive_now, snapshot
from wsroute_django.memory_layer import MemoryChannelLayer

CHANNELS = st.sampled_from(["a", "b", "c", "specific.x!y", "bad name"])
GROUPS = st.sampled_from(["g", "h", "bad!group"])
# fractions of a second matter: memberships expire against int(now), messages against now
STEPS = st.sampled_from([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.25, 5.5, 6.0, 61.0]) | st.floats(0, 10, allow_nan=False)

Outcome = tuple[str, Any]

pytestmark = REFERENCE_SKIP


class SameBehaviour(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self._clock_patch = patched_clock(self.clock)
        self._clock_patch.__enter__()
        self.loop = asyncio.new_event_loop()
        self.layers: tuple[Any, Any] | None = None
        self.sent = 0

    def teardown(self) -> None:
        self.loop.close()
        self._clock_patch.__exit__(None, None, None)

    @initialize(
        expiry=st.sampled_from([0, 1, 5.5, 60]),
        group_expiry=st.sampled_from([0, 1, 2, 7, 86400]),
        capacity=st.sampled_from([0, 1, 2, 3, 100]),
    )
    def make_layers(self, expiry: float, group_expiry: float, capacity: int) -> None:
        config = {"expiry": expiry, "group_expiry": group_expiry, "capacity": capacity}
        self.layers = (InMemoryChannelLayer(**config), MemoryChannelLayer(**config))

    def both(self, operation: Callable[[Any], Awaitable[Any]]) -> Outcome:
        assert self.layers is not None
        outcomes: list[Outcome] = []
        for layer in self.layers:
            try:
                outcomes.append(("returned", self.loop.run_until_complete(operation(layer))))
            except Exception as exc:
                outcomes.append((type(exc).__name__, str(exc)))
        assert outcomes[0] == outcomes[1], outcomes
        return outcomes[0]

    def message(self) -> dict[str, Any]:
        self.sent += 1
        return {"type": "test.message", "n": self.sent, "nested": {"list": [self.sent]}}

    @precondition(lambda self: self.layers is not None)
    @rule(channel=CHANNELS)
    def send(self, channel: str) -> None:
        message = self.message()
        self.both(lambda layer: layer.send(channel, message))
        message["nested"]["list"].append("changed by the sender")

    @precondition(lambda self: self.layers is not None)
    @rule(channel=CHANNELS)
    def receive(self, channel: str) -> None:
        received: list[Any] = []

        async def receive_and_keep(layer: Any) -> Any:
            message = await receive_now(layer, channel)
            received.append(message)
            return message

        self.both(receive_and_keep)
        for message in received:  # a receiver may do as it likes with its message
            if message is not None:
                message["nested"]["list"].append("changed by a receiver")
                message["type"] = "changed"

    @precondition(lambda self: self.layers is not None)
    @rule(group=GROUPS, channel=CHANNELS)
    def group_add(self, group: str, channel: str) -> None:
        self.both(lambda layer: layer.group_add(group, channel))

    @precondition(lambda self: self.layers is not None)
    @rule(group=GROUPS, channel=CHANNELS)
    def group_discard(self, group: str, channel: str) -> None:
        self.both(lambda layer: layer.group_discard(group, channel))

    @precondition(lambda self: self.layers is not None)
    @rule(group=GROUPS)
    def group_send(self, group: str) -> None:
        message = self.message()
        self.both(lambda layer: layer.group_send(group, message))
        message["nested"]["list"].append("changed by the sender")

    @precondition(lambda self: self.layers is not None)
    @rule(seconds=STEPS)
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: self.layers is not None)
    @rule()
    def flush(self) -> None:
        self.both(lambda layer: layer.flush())

    @invariant()
    def same_state(self) -> None:
        if self.layers is not None:
            reference, candidate = self.layers
            assert snapshot(reference) == snapshot(candidate)


SameBehaviour.TestCase.settings = settings(max_examples=800, stateful_step_count=40, deadline=None)
TestSameBehaviour = SameBehaviour.TestCase
