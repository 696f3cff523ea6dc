from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.dispatch import receiver

from wsroute_django import layer
from wsroute_django.models import Socket
from wsroute_django.signals import group_left


@receiver(group_left, sender=Socket)  # sender=Socket: a row pruned because its server process died
def refresh_who(sender, group, **kwargs):
    """A dead socket left a room: every live socket there re-reads the list, as group_call_event does."""
    if group.startswith("chat."):
        async_to_sync(get_channel_layer().group_send)(group, layer.call("who"))
