"""Channels' in-memory layer semantics, run against Channels' layer and wsroute's alike.

Channels' own tests for ``InMemoryChannelLayer`` (``tests/test_inmemorychannel.py``) are
restated here with a hand-moved clock instead of sleeps, and extended: capacity, expiry of
messages and memberships, groups, flush, cancellation, names, copies and reclaiming.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from typing import Any

import pytest
from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

from tests.layers.conftest import Clock, MakeLayer, members, pending, receive_now, snapshot
from wsroute_django.memory_layer import MemoryChannelLayer

# -- send and receive ------------------------------------------------------------------------


async def test_send_then_receive(make_layer: MakeLayer) -> None:
    layer = make_layer()
    await layer.send("test-channel-1", {"type": "test.message", "text": "Ahoy-hoy!"})
    assert await layer.receive("test-channel-1") == {"type": "test.message", "text": "Ahoy-hoy!"}
    assert layer.channels == {}


async def test_process_local_channel(make_layer: MakeLayer) -> None:
    layer = make_layer()
    name = await layer.new_channel()
    assert name.startswith("specific..inmemory!") and len(name) == len("specific..inmemory!") + 12
    assert layer.require_valid_channel_name(name)
    assert await layer.new_channel() != name
    assert (await layer.new_channel("room.")).startswith("room..inmemory!")
    await layer.send(name, {"type": "test.message", "text": "Local only please"})
    assert (await layer.receive(name))["text"] == "Local only please"


async def test_messages_come_out_in_the_order_they_went_in(make_layer: MakeLayer) -> None:
    layer = make_layer(capacity=1000)
    for n in range(500):
        await layer.send("test-channel-3", {"type": "message", "n": n})
    assert [(await layer.receive("test-channel-3"))["n"] for _ in range(500)] == list(range(500))


async def test_receive_waits_for_a_send(make_layer: MakeLayer) -> None:
    layer = make_layer()
    task = asyncio.ensure_future(layer.receive("waiting"))
    await asyncio.sleep(0)
    assert not task.done()
    await layer.send("waiting", {"type": "late"})
    async with asyncio.timeout(1):
        assert await task == {"type": "late"}
    assert layer.channels == {}


async def test_waiting_receivers_are_served_in_turn(make_layer: MakeLayer) -> None:
    layer = make_layer()
    first = asyncio.ensure_future(layer.receive("shared"))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(layer.receive("shared"))
    await asyncio.sleep(0)
    await layer.send("shared", {"type": "one"})
    await layer.send("shared", {"type": "two"})
    async with asyncio.timeout(1):
        assert await first == {"type": "one"}
        assert await second == {"type": "two"}
    assert layer.channels == {}


async def test_extensions(make_layer: MakeLayer) -> None:
    assert make_layer().extensions == ["groups", "flush"]


# -- capacity ----------------------------------------------------------------------------------


async def test_a_full_channel_raises_channel_full(make_layer: MakeLayer) -> None:
    layer = make_layer(capacity=3)
    for _ in range(3):
        await layer.send("test-channel-1", {"type": "test.message"})
    with pytest.raises(ChannelFull) as raised:
        await layer.send("test-channel-1", {"type": "test.message"})
    assert str(raised.value) == "test-channel-1"
    await layer.receive("test-channel-1")
    await layer.send("test-channel-1", {"type": "room again"})
    assert len(pending(layer)["test-channel-1"]) == 3
    await layer.send("test-channel-2", {"type": "other channels are not full"})


@pytest.mark.parametrize("capacity", [0, -1])
async def test_capacity_zero_or_less_means_no_limit(make_layer: MakeLayer, capacity: int) -> None:
    layer = make_layer(capacity=capacity)
    for n in range(300):
        await layer.send("unbounded", {"type": "m", "n": n})
    assert len(pending(layer)["unbounded"]) == 300


async def test_default_capacity_is_100(make_layer: MakeLayer) -> None:
    layer = make_layer()
    for _ in range(100):
        await layer.send("c", {"type": "m"})
    with pytest.raises(ChannelFull):
        await layer.send("c", {"type": "m"})


async def test_group_send_skips_full_channels(make_layer: MakeLayer) -> None:
    layer = make_layer(capacity=3)
    await layer.group_add("test-group", "full")
    await layer.group_add("test-group", "roomy")
    for _ in range(3):
        await layer.send("full", {"type": "filler"})
    for n in range(5):  # no ChannelFull escapes
        await layer.group_send("test-group", {"type": "message.1", "n": n})
    assert [message["type"] for _, message in pending(layer)["full"]] == ["filler"] * 3
    assert [message["n"] for _, message in pending(layer)["roomy"]] == [0, 1, 2]


async def test_channel_capacity_patterns(make_layer: MakeLayer) -> None:
    """Globs (and compiled regexes) give matching channels their own capacity, first match wins."""
    import re

    config: dict[Any, int] = {"small.*": 2, re.compile(r"^big\."): 5, "*": 3}
    layer = make_layer(capacity=10, channel_capacity=config)
    try:
        await layer.send("small.one", {"type": "m"})
    except ValueError:
        assert isinstance(layer, InMemoryChannelLayer)
        pytest.skip("Channels' InMemoryChannelLayer does not compile channel_capacity: every send raises ValueError")
    for channel, capacity in [("small.one", 2), ("big.one", 5), ("other", 3)]:
        sent = 0
        with pytest.raises(ChannelFull):
            while True:
                await layer.send(channel, {"type": "m"})
                sent += 1
        assert sent + (channel == "small.one") == capacity, channel


# -- expiry --------------------------------------------------------------------------------------


async def test_a_message_expires(make_layer: MakeLayer, clock: Clock) -> None:
    layer = make_layer(expiry=10)
    await layer.send("test-channel-1", {"type": "message.1"})
    assert len(layer.channels) == 1
    clock.advance(10)  # "older than expiry": exactly expiry is not yet
    assert await receive_now(layer, "test-channel-1") == {"type": "message.1"}
    await layer.send("test-channel-1", {"type": "message.2"})
    clock.advance(10.001)
    assert await receive_now(layer, "test-channel-1") is None
    assert layer.channels == {}


async def test_an_unread_message_expires_when_another_channel_is_read(make_layer: MakeLayer, clock: Clock) -> None:
    layer = make_layer(expiry=10)
    await layer.send("test-channel-1", {"type": "message.1"})
    clock.advance(11)
    await layer.send("test-channel-2", {"type": "message.2"})
    assert len(layer.channels) == 2
    assert (await layer.receive("test-channel-2"))["type"] == "message.2"
    assert layer.channels == {}


async def test_only_the_old_messages_of_a_channel_expire(make_layer: MakeLayer, clock: Clock) -> None:
    layer = make_layer(expiry=10)
    for n in (1, 2, 3):
        await layer.send("test-channel-1", {"type": f"message.{n}"})
    assert (await layer.receive("test-channel-1"))["type"] == "message.1"
    clock.advance(11)
    await layer.send("test-channel-1", {"type": "message.4"})
    assert (await layer.receive("test-channel-1"))["type"] == "message.4"
    assert await receive_now(layer, "test-channel-1") is None
    assert layer.channels == {}


async def test_a_send_does_not_expire_messages(make_layer: MakeLayer, clock: Clock) -> None:
    """Channels' send() drops nothing: a channel full of expired messages is still full
    until a receive or group_send anywhere drops them."""
    layer = make_layer(expiry=10, capacity=2)
    await layer.send("c", {"type": "m"})
    await layer.send("c", {"type": "m"})
    clock.advance(11)
    with pytest.raises(ChannelFull):
        await layer.send("c", {"type": "m"})
    await layer.group_send("nobody", {"type": "m"})  # expires everything due
    await layer.send("c", {"type": "fresh"})
    assert [message for _, message in pending(layer)["c"]] == [{"type": "fresh"}]


async def test_an_expired_message_takes_its_channel_out_of_every_group(make_layer: MakeLayer, clock: Clock) -> None:
    layer = make_layer(expiry=10)
    for group in ("room-a", "room-b"):
        await layer.group_add(group, "gone")
        await layer.group_add(group, "here")
    await layer.send("gone", {"type": "never read"})
    clock.advance(5)
    await layer.send("here", {"type": "read in time"})
    clock.advance(6)
    assert await receive_now(layer, "here") == {"type": "read in time"}
    assert members(layer, "room-a") == members(layer, "room-b") == {"here"}
    await layer.group_send("room-a", {"type": "after"})
    assert await receive_now(layer, "here") == {"type": "after"}
    assert await receive_now(layer, "gone") is None


async def test_group_memberships_expire(make_layer: MakeLayer, clock: Clock) -> None:
    """A membership ends once it is older than group_expiry, counted from int(now)."""
    layer = make_layer(group_expiry=100)
    clock.now = 5000.5
    await layer.group_add("g", "old")
    clock.advance(50)
    await layer.group_add("g", "young")
    clock.now = 5100.9  # 100.4 s old, but int(now) - 100 = 5000 is not > 5000.5: not yet
    await layer.group_send("g", {"type": "m0"})
    assert members(layer, "g") == {"old", "young"}
    assert await receive_now(layer, "old") == await receive_now(layer, "young") == {"type": "m0"}
    clock.now = 5101.4  # int(now) - 100 = 5001 > 5000.5: "old" is due
    await layer.group_send("g", {"type": "m"})
    assert members(layer, "g") == {"young"}
    assert await receive_now(layer, "old") is None
    assert await receive_now(layer, "young") == {"type": "m"}
    clock.now = 5151.0  # 5051 > 5050.5
    assert await receive_now(layer, "anything") is None  # a receive expires memberships too
    assert members(layer, "g") == set()
    assert layer.groups.get("g", {}) == {}


async def test_group_add_renews_a_membership(make_layer: MakeLayer, clock: Clock) -> None:
    layer = make_layer(group_expiry=100)
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    clock.advance(60)
    await layer.group_add("g", "a")
    clock.advance(60)
    await layer.group_send("g", {"type": "m"})
    assert members(layer, "g") == {"a"}
    clock.advance(60)
    await layer.group_send("g", {"type": "m"})
    assert members(layer, "g") == set()


# -- groups ----------------------------------------------------------------------------------------


async def test_groups_basic(make_layer: MakeLayer) -> None:
    layer = make_layer()
    for channel in ("test-gr-chan-1", "test-gr-chan-2", "test-gr-chan-3"):
        await layer.group_add("test-group", channel)
    await layer.group_discard("test-group", "test-gr-chan-2")
    await layer.group_send("test-group", {"type": "message.1"})
    assert (await layer.receive("test-gr-chan-1"))["type"] == "message.1"
    assert (await layer.receive("test-gr-chan-3"))["type"] == "message.1"
    assert await receive_now(layer, "test-gr-chan-2") is None


async def test_group_send_reaches_many(make_layer: MakeLayer) -> None:
    layer = make_layer()
    names = [f"member-{n}" for n in range(2000)]
    for name in names:
        await layer.group_add("crowd", name)
    await layer.group_add("crowd", names[0])  # twice: still one message
    await layer.group_send("crowd", {"type": "hello", "to": "all"})
    assert sorted(pending(layer)) == sorted(names)
    for name in names:
        assert await layer.receive(name) == {"type": "hello", "to": "all"}
    assert layer.channels == {}


async def test_group_send_to_an_empty_or_unknown_group(make_layer: MakeLayer) -> None:
    layer = make_layer()
    await layer.group_send("nobody-here", {"type": "m"})
    await layer.group_add("g", "c")
    await layer.group_discard("g", "c")
    await layer.group_send("g", {"type": "m"})
    assert layer.channels == {}


async def test_group_discard(make_layer: MakeLayer) -> None:
    layer = make_layer()
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    await layer.group_discard("g", "a")
    await layer.group_discard("g", "a")  # again: nothing happens
    await layer.group_discard("g", "never-joined")
    await layer.group_discard("no-such-group", "a")
    assert members(layer, "g") == {"b"}
    await layer.group_discard("g", "b")
    assert "g" not in layer.groups  # the emptied group is gone
    await layer.group_add("g", "a")  # and can be joined again
    await layer.group_send("g", {"type": "m"})
    assert await receive_now(layer, "a") == {"type": "m"}


async def test_a_channel_may_be_in_many_groups(make_layer: MakeLayer) -> None:
    layer = make_layer()
    for group in ("g1", "g2", "g3"):
        await layer.group_add(group, "c")
    await layer.group_discard("g2", "c")
    for group in ("g1", "g2", "g3"):
        await layer.group_send(group, {"type": group})
    assert [message["type"] for _, message in pending(layer)["c"]] == ["g1", "g3"]


# -- flush -----------------------------------------------------------------------------------------


async def test_flush_forgets_everything(make_layer: MakeLayer) -> None:
    layer = make_layer()
    await layer.send("c", {"type": "m"})
    await layer.group_add("g", "c")
    await layer.group_add("g", "d")
    await layer.flush()
    assert snapshot(layer) == ({}, {})
    assert await receive_now(layer, "c") is None
    await layer.group_send("g", {"type": "m"})
    assert await receive_now(layer, "d") is None
    await layer.send("c", {"type": "after"})  # still usable
    assert await layer.receive("c") == {"type": "after"}
    await layer.close()


# -- cancellation ----------------------------------------------------------------------------------


async def test_a_cancelled_receive_leaves_the_layer_usable(make_layer: MakeLayer) -> None:
    layer = make_layer()
    task = asyncio.ensure_future(layer.receive("c"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert layer.channels == {}
    await layer.send("c", {"type": "after"})
    assert await layer.receive("c") == {"type": "after"}


async def test_a_receive_cancelled_after_its_message_arrived_loses_nothing(make_layer: MakeLayer) -> None:
    layer = make_layer()
    task = asyncio.ensure_future(layer.receive("c"))
    await asyncio.sleep(0)
    await layer.send("c", {"type": "kept"})  # wakes the receiver ...
    task.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await layer.receive("c") == {"type": "kept"}


async def test_a_timed_out_receive(make_layer: MakeLayer) -> None:
    layer = make_layer()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await layer.receive("quiet")
    assert layer.channels == {}


async def test_cancelling_one_of_two_receivers_keeps_the_other_served() -> None:
    """wsroute's layer only: Channels' layer forgets the channel when the first receiver is
    cancelled, so the second one never gets a message (a difference kept on purpose)."""
    layer = MemoryChannelLayer()
    first = asyncio.ensure_future(layer.receive("c"))
    second = asyncio.ensure_future(layer.receive("c"))
    await asyncio.sleep(0)
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    await layer.send("c", {"type": "for the second"})
    async with asyncio.timeout(1):
        assert await second == {"type": "for the second"}
    assert layer.channels == {}


# -- names and messages ------------------------------------------------------------------------------

BAD_NAMES: list[Any] = ["", "has space", "é", "x" * 100, "a!b!c", None, 5, b"bytes"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
async def test_invalid_channel_names(make_layer: MakeLayer, name: Any) -> None:
    layer = make_layer()
    with pytest.raises(TypeError, match="Channel name must be"):
        await layer.send(name, {"type": "m"})
    with pytest.raises(TypeError, match="Channel name must be"):
        await layer.receive(name)
    with pytest.raises(TypeError, match="Channel name must be"):
        await layer.group_add("g", name)
    with pytest.raises(TypeError, match="Channel name must be"):
        await layer.group_discard("g", name)
    assert snapshot(layer) == ({}, {})


@pytest.mark.parametrize("name", [*BAD_NAMES, "a!b"], ids=repr)
async def test_invalid_group_names(make_layer: MakeLayer, name: Any) -> None:
    layer = make_layer()
    with pytest.raises(TypeError, match="Group name must be"):
        await layer.group_add(name, "c")
    with pytest.raises(TypeError, match="Group name must be"):
        await layer.group_discard(name, "c")
    with pytest.raises(TypeError, match="Group name must be"):
        await layer.group_send(name, {"type": "m"})


async def test_names_are_checked_in_the_same_order(make_layer: MakeLayer) -> None:
    layer = make_layer()
    with pytest.raises(TypeError, match="Group name"):
        await layer.group_add("bad group", "bad channel")
    with pytest.raises(TypeError, match="Channel name"):
        await layer.group_discard("bad group", "bad channel")


async def test_valid_names(make_layer: MakeLayer) -> None:
    layer = make_layer()
    for name in ("a", "A-z_0.9", "x" * 99, "specific.abc!", "specific.abc!def"):
        await layer.send(name, {"type": "m"})
        assert await layer.receive(name) == {"type": "m"}
    await layer.group_add("x" * 99, "c")


async def test_messages_must_be_dicts_without_asgi_channel(make_layer: MakeLayer) -> None:
    layer = make_layer()
    with pytest.raises(AssertionError, match="message is not a dict"):
        await layer.send("c", ["type", "m"])
    with pytest.raises(AssertionError, match="Message is not a dict"):
        await layer.group_send("g", "m")
    with pytest.raises(AssertionError):
        await layer.send("c", {"type": "m", "__asgi_channel__": "x"})
    assert snapshot(layer) == ({}, {})


async def test_unknown_options_are_refused(layer_class: type[Any]) -> None:
    with pytest.raises(TypeError):
        layer_class(hosts=["redis://"])


# -- copies ------------------------------------------------------------------------------------------


async def test_the_sender_cannot_change_a_sent_message(make_layer: MakeLayer) -> None:
    layer = make_layer()
    message: dict[str, Any] = {"type": "m", "items": [1, 2], "meta": {"k": "v"}}
    await layer.send("c", message)
    await layer.group_add("g", "d")
    await layer.group_send("g", message)
    message["items"].append(3)
    message["meta"]["k"] = "changed"
    message["type"] = "changed"
    for channel in ("c", "d"):
        assert await layer.receive(channel) == {"type": "m", "items": [1, 2], "meta": {"k": "v"}}


async def test_receivers_get_their_own_copies(make_layer: MakeLayer) -> None:
    layer = make_layer()
    for channel in ("a", "b"):
        await layer.group_add("g", channel)
    await layer.group_send("g", {"type": "m", "items": [1], "meta": {"seen": False}})
    first = await layer.receive("a")
    first["items"].append(2)
    first["meta"]["seen"] = True
    first.pop("type")
    assert await layer.receive("b") == {"type": "m", "items": [1], "meta": {"seen": False}}


async def test_copies_are_deep_copies(make_layer: MakeLayer) -> None:
    """Shared parts stay shared within one copy, cycles survive, other types are deep-copied."""
    layer = make_layer()
    shared = {"x": 1}
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    message = {"type": "m", "a": shared, "b": shared, "t": (shared, [shared]), "s": {1, 2}, "c": cyclic}
    await layer.send("c", message)
    got = await layer.receive("c")
    assert got["a"] is got["b"] is got["t"][0] is got["t"][1][0]
    assert got["a"] is not shared and got["a"] == shared
    assert got["c"][1] is got["c"] and got["c"] is not cyclic
    assert got["s"] == {1, 2} and got["s"] is not message["s"]
    assert repr(got) == repr(copy.deepcopy(message))


async def test_an_uncopyable_message_raises_like_deepcopy(make_layer: MakeLayer) -> None:
    layer = make_layer()

    class Uncopyable:
        def __deepcopy__(self, memo: dict[int, Any]) -> Any:
            raise RuntimeError("no copies")

    with pytest.raises(RuntimeError, match="no copies"):
        await layer.send("c", {"type": "m", "x": Uncopyable()})
    await layer.group_add("g", "c")
    with pytest.raises(RuntimeError, match="no copies"):
        await layer.group_send("g", {"type": "m", "x": Uncopyable()})
    assert await receive_now(layer, "c") is None


# -- reclaiming --------------------------------------------------------------------------------------


async def test_abandoned_channels_are_reclaimed(make_layer: MakeLayer, clock: Clock) -> None:
    """Channels that got messages nobody read, and their memberships, go once the messages expire."""
    layer = make_layer(expiry=60)
    for n in range(1000):
        await layer.group_add("everyone", f"gone-{n}")
        await layer.group_add(f"own-{n}", f"gone-{n}")
        await layer.send(f"gone-{n}", {"type": "unread", "n": n})
    await layer.group_send("everyone", {"type": "unread too"})
    await layer.group_add("everyone", "alive")
    assert len(layer.channels) == 1000
    clock.advance(61)
    await layer.send("alive", {"type": "fresh"})
    assert await layer.receive("alive") == {"type": "fresh"}
    assert snapshot(layer) == ({}, {"everyone": {"alive": clock.now - 61}})
    if isinstance(layer, MemoryChannelLayer):
        assert [channel for _, channel in layer._due] == list(layer._scheduled) == ["alive"]  # until it is due
        assert layer._memberships == {"alive": {"everyone"}}
        assert list(layer._joined) == [("everyone", "alive")]


async def test_cancelled_receives_leave_nothing(make_layer: MakeLayer) -> None:
    layer = make_layer()
    tasks = [asyncio.ensure_future(layer.receive(f"c-{n}")) for n in range(2000)]
    await asyncio.sleep(0)
    assert len(layer.channels) == 2000
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert layer.channels == {}


async def test_expired_memberships_are_reclaimed(make_layer: MakeLayer, clock: Clock) -> None:
    layer = make_layer(group_expiry=100)
    for n in range(3000):
        await layer.group_add(f"g-{n % 30}", f"c-{n}")
    clock.advance(102)
    await layer.group_send("g-0", {"type": "m"})
    assert snapshot(layer) == ({}, {})
    if isinstance(layer, MemoryChannelLayer):
        assert layer.groups == {} and layer._memberships == {} and not layer._joined


async def test_a_receiver_woken_for_a_message_that_expired_meanwhile_waits_on(clock: Clock) -> None:
    """wsroute's layer only: in Channels' layer the sweep forgets the channel of the woken
    receiver, which then waits on a queue no send reaches any more."""
    layer = MemoryChannelLayer(expiry=10)
    task = asyncio.ensure_future(layer.receive("c"))
    await asyncio.sleep(0)
    await layer.send("c", {"type": "too old by the time it is read"})  # wakes the receiver ...
    clock.advance(11)
    await layer.group_send("nobody", {"type": "m"})  # ... but a sweep drops the message first
    await asyncio.sleep(0)
    assert not task.done() and "c" in layer.channels
    await layer.send("c", {"type": "fresh"})
    async with asyncio.timeout(1):
        assert await task == {"type": "fresh"}
    assert layer.channels == {}
