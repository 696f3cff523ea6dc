"""``Socket``: one row per live connection, and sending to sockets from anywhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import models

from wsroute_django import layer
from wsroute_django.fanout import send_to_rows

__all__ = ["Socket", "SocketGroup", "SocketQuerySet", "TopicMember"]


class SocketQuerySet(models.QuerySet["Socket"]):
    """Sockets, addressable as a batch: ``Socket.objects.filter(path="/chat/").send_json({...})``.

    Each method sends one channel-layer message per server process, which hands it to each
    of its sockets (no throw-away groups), and returns how many sockets were addressed. The
    plain methods are for sync code (views, Celery tasks, management commands); the
    ``a``-prefixed ones for async code.
    """

    def for_user(self, user: Any) -> SocketQuerySet:
        return self.filter(user=user)

    def on_path(self, path: str) -> SocketQuerySet:
        return self.filter(path=path)

    def in_group(self, group: str) -> SocketQuerySet:
        return self.filter(memberships__name=group)

    def send_json(self, data: Mapping[str, Any]) -> int:
        """Send ``data`` as it is to every socket (through each socket's ``on_send`` middleware)."""
        return self._send(layer.send(data))

    async def asend_json(self, data: Mapping[str, Any]) -> int:
        return await self._asend(layer.send(data))

    def send_event(self, event: str, payload: Mapping[str, Any] | None = None) -> int:
        """Send ``{<routing key>: event, **payload}``, with each consumer's own routing key."""
        return self._send(layer.deliver(event, payload))

    async def asend_event(self, event: str, payload: Mapping[str, Any] | None = None) -> int:
        return await self._asend(layer.deliver(event, payload))

    def close(self, code: int = 1000) -> int:
        """Close every socket with ``code``; their rows go when each consumer disconnects."""
        return self._send(layer.close(code))

    async def aclose(self, code: int = 1000) -> int:
        return await self._asend(layer.close(code))

    def _send(self, message: dict[str, Any]) -> int:
        rows = list(self.values_list("channel_name", "server"))
        return int(async_to_sync(send_to_rows)(rows, message))

    async def _asend(self, message: dict[str, Any]) -> int:
        rows = [row async for row in self.values_list("channel_name", "server")]
        return await send_to_rows(rows, message)


class Socket(models.Model):
    """A live WebSocket connection: written on connect, deleted on disconnect."""

    session = models.ForeignKey(
        Session,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_constraint=False,  # cache and signed-cookie sessions have no row; see session_key
        related_name="+",
    )
    #: the session key whatever the session engine (the FK above is only set for DB sessions)
    session_key = models.CharField(max_length=40, blank=True, default="")
    channel_name = models.CharField(max_length=100, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="websockets"
    )
    path = models.CharField(max_length=255, db_index=True)
    active = models.BooleanField(default=True)
    last_ping = models.DateTimeField(db_index=True)
    user_ip = models.GenericIPAddressField(null=True, blank=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    #: the server process serving the socket; its heartbeat refreshes last_ping in one query
    server = models.CharField(max_length=64, db_index=True, default="")

    objects = SocketQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "path"], name="wsroute_socket_user_path")]

    def __str__(self) -> str:
        return f"{self.path} {self.channel_name}"


class SocketGroup(models.Model):
    """A socket's membership of a channel-layer group, so groups can be listed."""

    socket = models.ForeignKey(Socket, on_delete=models.CASCADE, related_name="memberships")
    name = models.CharField(max_length=100, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["socket", "name"], name="wsroute_unique_membership")]

    def __str__(self) -> str:
        return self.name


class TopicMember(models.Model):
    """A socket's membership of a topic, with the presence key and metadata it joined with.

    Presence is per key (``user:<pk>``, or ``socket:<pk>`` for an anonymous socket): a key
    is present in a topic while it has at least one membership row there."""

    socket = models.ForeignKey(Socket, on_delete=models.CASCADE, related_name="topic_memberships")
    topic = models.CharField(max_length=128)
    key = models.CharField(max_length=64)
    meta = models.JSONField(default=dict, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["socket", "topic"], name="wsroute_unique_topic_member")]
        indexes = [models.Index(fields=["topic", "key"], name="wsroute_topic_key")]

    def __str__(self) -> str:
        return f"{self.topic} {self.key}"
