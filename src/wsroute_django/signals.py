"""Presence signals. Receivers may be sync or async; they run after the row is written.

``socket_connected(sender=consumer class, socket=consumer)``
``socket_disconnected(sender=consumer class, socket=consumer, code=close code)``
``group_joined`` / ``group_left(sender=consumer class, socket=consumer, group=name)``
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["group_joined", "group_left", "socket_connected", "socket_disconnected"]

socket_connected = Signal()
socket_disconnected = Signal()
group_joined = Signal()
group_left = Signal()
