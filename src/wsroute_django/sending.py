"""Sending to a group from anywhere: views, Celery tasks, management commands, async code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from wsroute_django import groups, layer

__all__ = ["asend_to_group", "channel_of", "send_to_group"]


def channel_of(socket: Any) -> str | None:
    """The channel name of a socket given as a consumer, a ``Socket`` row or the name itself."""
    if socket is None or isinstance(socket, str):
        return socket
    name = getattr(socket, "channel_name", None)
    if not isinstance(name, str):
        raise TypeError(f"exclude= takes a socket, a Socket row or a channel name, not {type(socket).__name__}")
    return name


async def asend_to_group(
    group: str, event: str, payload: Mapping[str, Any] | None = None, *, exclude: Any = None
) -> None:
    """Send ``{<routing key>: event, **payload}`` to every socket in ``group`` but ``exclude``
    (a socket, its ``Socket`` row or its channel name), from async code."""
    channel_layer = get_channel_layer()
    if channel_layer is None:
        raise RuntimeError("sending to a group needs CHANNEL_LAYERS in settings")
    message = layer.deliver(event, payload, exclude=channel_of(exclude))
    await channel_layer.group_send(groups.check_group_name(group), message)


def send_to_group(group: str, event: str, payload: Mapping[str, Any] | None = None, *, exclude: Any = None) -> None:
    """``asend_to_group`` for sync code (a view, a Celery task, a management command)."""
    async_to_sync(asend_to_group)(group, event, payload, exclude=exclude)
