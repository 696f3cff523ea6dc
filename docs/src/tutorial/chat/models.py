from django.db import models

from wsroute_django.models import Socket


class Member(models.Model):
    """The chat name behind a live socket; it goes when the socket's row goes."""

    socket = models.OneToOneField(Socket, on_delete=models.CASCADE, related_name="chat_member")
    name = models.CharField(max_length=30)

    def __str__(self):
        return self.name
