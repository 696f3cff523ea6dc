from __future__ import annotations

from django.db import models

from wsroute_django.models import Socket


class Member(models.Model):
    """The chat name behind a live socket.

    It hangs off the socket's ``Socket`` row, so it goes when the row goes: on disconnect, and
    when the stale-row sweep removes the rows of a server process that died.
    """

    socket = models.OneToOneField(Socket, on_delete=models.CASCADE, related_name="chat_member")
    name = models.CharField(max_length=30)

    def __str__(self) -> str:
        return self.name
