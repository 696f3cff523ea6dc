"""Presence signals. Receivers may be sync or async; they run after the row is written.

``socket_connected(sender=consumer class, socket=consumer)``
``socket_disconnected(sender=consumer class, socket=consumer, code=close code)``
``group_joined`` / ``group_left(sender=consumer class, socket=consumer, group=name)``

For a socket whose row the stale-row sweep (or ``manage.py wsroute_prune``) deleted because
its server process died, ``group_left`` (per group) and ``socket_disconnected`` (code 1006)
are sent after the delete with ``sender=Socket``, ``socket=None``, ``row=<the deleted row>``
and ``pruned=True`` (see ``wsroute_django.rows.after_prune``).

A receiver that raises is logged with its traceback; it never breaks the connection or the prune.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.dispatch import Signal

__all__ = ["emit", "group_joined", "group_left", "socket_connected", "socket_disconnected"]

logger = logging.getLogger("wsroute")

socket_connected = Signal()
socket_disconnected = Signal()
group_joined = Signal()
group_left = Signal()


async def emit(signal: Signal, sender: type, **kwargs: Any) -> None:
    """Send ``signal`` from async code; receivers' exceptions are logged, not raised."""
    if not signal.has_listeners(sender):
        return
    if hasattr(signal, "asend_robust"):
        results = await signal.asend_robust(sender, **kwargs)
    else:  # Django 4.2: no async signal API
        results = await sync_to_async(signal.send_robust)(sender, **kwargs)
    for receiver, result in results:
        if isinstance(result, Exception):
            logger.error("signal receiver %r raised", receiver, exc_info=result)
