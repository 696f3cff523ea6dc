"""Presence: who is connected, per path and per group, as queries over the Socket rows.

The row lifecycle (writing, liveness, pruning) lives in ``wsroute_django.rows``; its names
are importable from here too, where they were first.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from wsroute_django.rows import (
    SERVER_ID,
    Heartbeat,
    client_ip,
    close_row,
    forget_channels,
    heartbeat,
    join_group,
    leave_group,
    open_row,
    prune_stale,
    touch,
)

__all__ = [
    "SERVER_ID",
    "Heartbeat",
    "client_ip",
    "close_row",
    "forget_channels",
    "heartbeat",
    "join_group",
    "leave_group",
    "open_row",
    "prune_stale",
    "touch",
    "users_in_group",
    "users_on_path",
]


def users_on_path(path: str) -> QuerySet[Any]:
    """The users with at least one live socket on ``path``."""
    return get_user_model().objects.filter(websockets__path=path).distinct()


def users_in_group(group: str) -> QuerySet[Any]:
    """The users with at least one live socket in ``group``."""
    return get_user_model().objects.filter(websockets__memberships__name=group).distinct()
