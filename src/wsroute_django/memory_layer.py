"""``MemoryChannelLayer``: Channels' ``InMemoryChannelLayer`` without its scans of every channel.

Channels' in-memory layer looks at every channel and every group membership on each
``receive`` and ``group_send`` to drop expired messages, so each of those operations costs
time proportional to the open sockets of the process. This layer behaves the same (same
options, same results, same exceptions; see docs/channel-layers.md for the few deliberate
differences) but keeps what can expire in time order:

* a heap holds, for each channel that has had a message in the last ``expiry`` seconds, a
  time no later than the expiry of its oldest message; ``receive`` and ``group_send`` pop
  only the entries that are due, drop those channels' expired messages (and, as Channels
  does, take such a channel out of all its groups), and forget channels left empty;
* an ``OrderedDict`` keeps group memberships in the order they were (re)joined, which is
  the order they expire in, so expiring them pops from the front only.

Every operation is O(1), or O(log n) in the number of channels with messages, amortised
(``group_send``: per member); memory is reclaimed when a channel's last message is received
or expires. Messages are deep-copied on the way in, once per receiving channel, by a copier
that is much faster than ``copy.deepcopy`` for JSON-shaped messages (dicts, lists, str,
numbers, ``None``) and hands anything else to ``deepcopy``, with the same result.

Like Channels' layer it serves one process and one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import random
import string
import time
from collections import OrderedDict, deque
from copy import deepcopy
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer

__all__ = ["MemoryChannelLayer", "copy_message"]

Message = dict[str, Any]

#: the types ``copy.deepcopy`` returns as they are, checked by exact type (as deepcopy does)
_ATOMIC: frozenset[type] = frozenset({type(None), bool, int, float, complex, str, bytes})


def _copy(value: Any, memo: dict[int, Any]) -> Any:
    cls = type(value)
    if cls in _ATOMIC:
        return value
    if cls is dict:
        copied = memo.get(id(value))
        if copied is None:
            copied = _copy_dict(value, memo)
        return copied
    if cls is list:
        copied = memo.get(id(value))
        if copied is None:
            copied = []
            memo[id(value)] = copied
            append = copied.append
            for item in value:
                append(item if type(item) in _ATOMIC else _copy(item, memo))
        return copied
    # Anything else (tuples, sets, subclasses, objects): deepcopy itself, sharing the memo so
    # that an object reachable twice is still copied once.
    return deepcopy(value, memo)


def _copy_dict(value: dict[Any, Any], memo: dict[int, Any]) -> dict[Any, Any]:
    copied: dict[Any, Any] = {}
    memo[id(value)] = copied
    for key, item in value.items():
        if type(key) is not str:
            key = _copy(key, memo)
        copied[key] = item if type(item) in _ATOMIC else _copy(item, memo)
    return copied


def copy_message(message: Message) -> Message:
    """What ``copy.deepcopy(message)`` returns, made faster for JSON-shaped messages.

    Dicts and lists of the exact types are rebuilt here and str, numbers, bytes and ``None``
    are kept as they are, as deepcopy does; everything else goes to deepcopy with the same
    memo, so an object (or a dict) reachable twice in the message is copied once and cycles
    are kept.
    """
    if type(message) is not dict:
        return deepcopy(message)
    return _copy_dict(message, {})


class _Channel:
    """One channel's queue: ``(expires, message)`` pairs, oldest first, and its receivers."""

    __slots__ = ("capacity", "messages", "receivers", "waiters")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.messages: deque[tuple[float, Message]] = deque()
        #: ``receive`` calls in progress, waiting or woken (the channel stays while there are any)
        self.receivers = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    def wake_one(self) -> None:
        """Wake the first receiver still waiting (it takes the message itself, as
        ``asyncio.Queue.get`` does, so a receiver cancelled after waking loses nothing)."""
        waiters = self.waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class MemoryChannelLayer(BaseChannelLayer):  # type: ignore[misc]  # channels ships no type hints
    """An in-memory channel layer for one process: ``channels.layers.InMemoryChannelLayer``'s
    options and behaviour, at O(1)/O(log n) per operation instead of O(channels).

    ``expiry``: seconds a message waits in a channel before it is dropped (a channel that
    loses a message this way leaves all its groups); ``group_expiry``: seconds a group
    membership lasts unless renewed by ``group_add``; ``capacity``: messages a channel holds
    before ``send`` raises ``ChannelFull`` (0 or less: no limit); ``channel_capacity``: a
    dict of glob patterns (or compiled regexes) to capacities for matching channel names.
    """

    extensions = ["groups", "flush"]

    def __init__(
        self,
        expiry: float = 60,
        group_expiry: float = 86400,
        capacity: int = 100,
        channel_capacity: dict[Any, int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(expiry=expiry, capacity=capacity, channel_capacity=channel_capacity, **kwargs)
        # Channels' InMemoryChannelLayer leaves this a dict, which get_capacity() cannot read
        # (every send and receive raises ValueError); compiled, it works as in channels-redis.
        self.channel_capacity: list[tuple[Any, int]] = self.compile_capacities(channel_capacity or {})
        self.group_expiry = group_expiry
        self._reset()

    def _reset(self) -> None:
        #: channels with messages or waiting receivers (empty ones are deleted at once)
        self.channels: dict[str, _Channel] = {}
        #: group -> {channel: time joined}, as in InMemoryChannelLayer; no empty groups
        self.groups: dict[str, dict[str, float]] = {}
        #: channel -> the groups it is in
        self._memberships: dict[str, set[str]] = {}
        #: (group, channel) -> time joined, in the order joined (and so in expiry order)
        self._joined: OrderedDict[tuple[str, str], float] = OrderedDict()
        #: heap of (due, channel): due is no later than the expiry of the channel's oldest message
        self._due: list[tuple[float, str]] = []
        #: channel -> its live entry's ``due`` in ``_due`` (older entries for it are skipped)
        self._scheduled: dict[str, float] = {}

    if not hasattr(BaseChannelLayer, "require_valid_channel_name"):  # Channels 4.1: the older names
        # (which raise the same TypeError; Channels 4.2 renamed them and deprecated these)

        def require_valid_channel_name(self, name: str, receive: bool = False) -> bool:
            return bool(self.valid_channel_name(name, receive=receive))

        def require_valid_group_name(self, name: str) -> bool:
            return bool(self.valid_group_name(name))

    # -- channel layer API ------------------------------------------------------------------

    async def send(self, channel: str, message: Message) -> None:
        """Send a message onto a channel; raises ``ChannelFull`` if it holds ``capacity`` messages."""
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._put(channel, message, time.time() + self.expiry)

    async def receive(self, channel: str) -> Message:
        """The first message on ``channel``, waiting for one if there is none.

        If more than one coroutine waits on the same channel, the one that has waited
        longest gets the next message."""
        self.require_valid_channel_name(channel)
        self._clean_expired()
        state = self.channels.get(channel)
        if state is None:
            state = self.channels[channel] = _Channel(self.get_capacity(channel))
        messages = state.messages
        state.receivers += 1
        try:
            while not messages:
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                state.waiters.append(waiter)
                try:
                    await waiter
                except BaseException:
                    waiter.cancel()
                    with contextlib.suppress(ValueError):
                        state.waiters.remove(waiter)
                    if messages and not waiter.cancelled():
                        state.wake_one()  # we were woken for a message we will not take
                    raise
            return messages.popleft()[1]
        finally:
            state.receivers -= 1
            if not messages and not state.receivers and self.channels.get(channel) is state:
                del self.channels[channel]

    async def new_channel(self, prefix: str = "specific.") -> str:
        """A new channel name for this process, in InMemoryChannelLayer's format."""
        return f"{prefix}.inmemory!{''.join(random.choices(string.ascii_letters, k=12))}"

    # -- flush extension --------------------------------------------------------------------

    async def flush(self) -> None:
        """Forget every channel, message and group (receivers already waiting are not woken)."""
        self._reset()

    async def close(self) -> None:
        pass

    # -- groups extension -------------------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` to ``group``, or renew its membership for another ``group_expiry``."""
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        joined_at = time.time()
        members = self.groups.get(group)
        if members is None:
            members = self.groups[group] = {}
        members[channel] = joined_at
        groups = self._memberships.get(channel)
        if groups is None:
            groups = self._memberships[channel] = set()
        groups.add(group)
        key = (group, channel)
        if joined_at:
            self._joined[key] = joined_at
            self._joined.move_to_end(key)
        else:  # InMemoryChannelLayer never expires a membership stamped 0
            self._joined.pop(key, None)

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group`` (nothing happens if it is not in it)."""
        self.require_valid_channel_name(channel)
        self.require_valid_group_name(group)
        members = self.groups.get(group)
        if members is not None and channel in members:
            self._leave(group, channel, members)

    async def group_send(self, group: str, message: Message) -> None:
        """Send a copy of ``message`` to every channel in ``group``, skipping full channels."""
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        members = self.groups.get(group)
        if not members:
            return
        assert "__asgi_channel__" not in message
        expires = time.time() + self.expiry
        put = self._put
        for channel in list(members):
            with contextlib.suppress(ChannelFull):
                put(channel, message, expires)

    # -- internals --------------------------------------------------------------------------

    def _put(self, channel: str, message: Message, expires: float) -> None:
        copied = copy_message(message)  # first, as InMemoryChannelLayer: an uncopyable message raises
        state = self.channels.get(channel)
        if state is None:
            state = self.channels[channel] = _Channel(self.get_capacity(channel))
        messages = state.messages
        if state.capacity > 0 and len(messages) >= state.capacity:  # asyncio.Queue's full()
            raise ChannelFull(channel)
        messages.append((expires, copied))
        due = self._scheduled.get(channel)
        if due is None or expires < due:  # (expires < due only if the clock went back)
            self._schedule(channel, expires)
        if state.waiters:
            state.wake_one()

    def _schedule(self, channel: str, due: float) -> None:
        self._scheduled[channel] = due
        heapq.heappush(self._due, (due, channel))

    def _clean_expired(self) -> None:
        """Drop expired messages and memberships, as InMemoryChannelLayer's scan of everything does.

        Only due entries are visited: each channel's entry fires at most once per message it
        loses or once per ``expiry`` while it has messages, each membership once."""
        now = time.time()
        due = self._due
        while due and due[0][0] < now:
            when, channel = heapq.heappop(due)
            if self._scheduled.get(channel) != when:
                continue  # superseded
            del self._scheduled[channel]
            state = self.channels.get(channel)
            if state is None:
                continue
            messages = state.messages
            while messages and messages[0][0] < now:
                messages.popleft()
                self._remove_from_groups(channel)
            if messages:
                self._schedule(channel, messages[0][0])
            elif not state.receivers:
                del self.channels[channel]

        joined = self._joined
        if joined:
            cutoff = int(now) - self.group_expiry
            while joined:
                key, joined_at = next(iter(joined.items()))
                if not joined_at < cutoff:
                    break
                group, channel = key
                self._leave(group, channel, self.groups[group])

    def _leave(self, group: str, channel: str, members: dict[str, float]) -> None:
        del members[channel]
        if not members:
            del self.groups[group]
        groups = self._memberships[channel]
        groups.discard(group)
        if not groups:
            del self._memberships[channel]
        self._joined.pop((group, channel), None)

    def _remove_from_groups(self, channel: str) -> None:
        """Take ``channel`` out of every group (a message on it expired)."""
        for group in self._memberships.pop(channel, ()):
            members = self.groups[group]
            del members[channel]
            if not members:
                del self.groups[group]
            self._joined.pop((group, channel), None)
