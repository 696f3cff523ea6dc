"""Topic memberships in the database, and the per-user presence diffs they drive.

Presence is keyed by user (``user:<pk>``; an anonymous socket is ``socket:<pk>``): a key
joins a topic when its first socket there joins, and leaves when its last one goes, by a
leave, a disconnect, or the stale-row prune after its server process died. Every change to
a topic's memberships runs in one transaction that first takes a lock on the topic (a
PostgreSQL advisory lock; on other databases, one process's changes are already serial),
and sends its diff to the topic's members before it commits. So, for each topic, diffs
reach every member in the order the changes were made, across processes, and a socket
that joins reads the state (``members``) after every diff sent before its join and before
any diff sent after it: state plus the diffs that follow, applied in order (a join sets the
key, a leave removes it), always ends at what the rows say.

These run in a worker thread (``database_sync_to_async``); ``announce`` sends from there.
The model is imported on first use: consumers import this module before apps are ready.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connections, router, transaction

from wsroute_django import layer

if TYPE_CHECKING:
    from wsroute_django.models import TopicMember

__all__ = ["announce", "join", "leave", "members", "presence_key", "pruned_leaves", "topic_group"]

logger = logging.getLogger("wsroute")

Presence = dict[str, Any]


def topic_group(topic: str) -> str:
    """The channel-layer group of ``topic`` (topic names may hold characters groups may not)."""
    return "wsroute.topic." + hashlib.blake2b(topic.encode(), digest_size=16).hexdigest()


def presence_key(user_id: Any, socket_pk: int) -> str:
    return f"user:{user_id}" if user_id is not None else f"socket:{socket_pk}"


def _model() -> type[TopicMember]:
    from wsroute_django.models import TopicMember

    return TopicMember


def _lock_id(topic: str) -> int:
    """A signed 64-bit advisory-lock id for ``topic``."""
    return int.from_bytes(hashlib.blake2b(topic.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def _locked(topic: str) -> Iterator[None]:
    alias = router.db_for_write(_model())
    with transaction.atomic(using=alias):
        connection = connections[alias]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(topic)])
        yield


def announce(topic: str, joins: Presence, leaves: Presence, exclude: str | None = None) -> None:
    """Send a presence diff to every socket in ``topic`` but ``exclude`` (from a worker thread)."""
    channel_layer = get_channel_layer()
    if channel_layer is None:
        return
    message = layer.presence(topic, joins, leaves)
    if exclude is not None:
        message["exclude"] = exclude
    async_to_sync(channel_layer.group_send)(topic_group(topic), message)


def members(topic: str) -> Presence:
    """``{key: metadata}`` of everyone in ``topic``; a key's metadata is its first socket's."""
    state: Presence = {}
    for key, meta in _model().objects.filter(topic=topic).order_by("pk").values_list("key", "meta"):
        state.setdefault(key, meta)
    return state


def join(socket_pk: int, channel_name: str, topic: str, key: str, meta: Any) -> Presence:
    """Record the membership, tell the topic if ``key`` just arrived; the state after it (which
    the joining socket gets in its reply, so the diff skips it)."""
    rows = _model().objects
    with _locked(topic):
        rows.create(socket_id=socket_pk, topic=topic, key=key, meta=meta)
        if not rows.filter(topic=topic, key=key).exclude(socket_id=socket_pk).exists():
            announce(topic, {key: meta}, {}, exclude=channel_name)
        return members(topic)


def leave(socket_pk: int, topics: Iterable[str]) -> None:
    """Delete the socket's memberships of ``topics``; tell each topic its key left, if it did."""
    rows = _model().objects
    for topic in topics:
        with _locked(topic):
            row = rows.filter(socket_id=socket_pk, topic=topic).first()
            if row is None:
                continue
            row.delete()
            if not rows.filter(topic=topic, key=row.key).exists():
                announce(topic, {}, {row.key: row.meta})


def pruned_leaves(memberships: Iterable[tuple[str, str, Any]]) -> None:
    """After the prune deleted the rows of ``(topic, key, meta)``: announce each key now gone."""
    by_topic: dict[str, dict[str, Any]] = {}
    for topic, key, meta in memberships:
        by_topic.setdefault(topic, {}).setdefault(key, meta)
    for topic in sorted(by_topic):
        with _locked(topic):
            remaining = set(
                _model().objects.filter(topic=topic, key__in=list(by_topic[topic])).values_list("key", flat=True)
            )
            gone = {key: meta for key, meta in by_topic[topic].items() if key not in remaining}
            if gone:
                announce(topic, {}, gone)
