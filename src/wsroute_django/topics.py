"""Declaring topics in the subclass style, and broadcasting to a topic from anywhere.

::

    class Chat(JSONWebSocket):
        @topic("room:{id}")
        def join_room(self, join):
            if join.params["id"] == "staff" and not self.user.is_staff:
                raise Forbidden("staff only")
            return {"history": [...]}          # the join reply's "data"

The decorator-style spelling is ``@socket.topic("room:{id}")`` on a ``SocketRouter``; a
``RoutedSocketHandler`` may also list ``topics = (("room:{id}", "join_room"), ("lobby", None))``
(``None``: anyone may join).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from wsroute.topics import TopicKey, check_topic_name, compile_topic
from wsroute_django import layer
from wsroute_django.membership import topic_group
from wsroute_django.sending import channel_of

__all__ = ["TOPIC_ATTRIBUTE", "asend_to_topic", "send_to_topic", "topic", "topic_group"]

F = TypeVar("F", bound=Callable[..., Any])

#: where ``@topic`` records the topics a method is the join hook of
TOPIC_ATTRIBUTE = "_wsroute_topics"


def topic(key: TopicKey) -> Callable[[F], F]:
    """Declare ``key`` (a name, a ``"room:{id}"`` template or ``re.compile(...)``) a topic
    clients may join, with the decorated method as its join hook, ``(self, join)``."""
    compile_topic(key)  # a bad key fails here, in the class body

    def mark(fn: F) -> F:
        setattr(fn, TOPIC_ATTRIBUTE, (*getattr(fn, TOPIC_ATTRIBUTE, ()), key))
        return fn

    return mark


async def asend_to_topic(
    name: str, event: str, payload: Mapping[str, Any] | None = None, *, exclude: Any = None
) -> None:
    """Send ``{<routing key>: event, "topic": name, **payload}`` to every socket that joined
    topic ``name``, but ``exclude`` (a socket, its ``Socket`` row or its channel name)."""
    check_topic_name(name)
    channel_layer = get_channel_layer()
    if channel_layer is None:
        raise RuntimeError("sending to a topic needs CHANNEL_LAYERS in settings")
    message = layer.deliver(event, payload, exclude=channel_of(exclude), topic=name)
    await channel_layer.group_send(topic_group(name), message)


def send_to_topic(name: str, event: str, payload: Mapping[str, Any] | None = None, *, exclude: Any = None) -> None:
    """``asend_to_topic`` for sync code (a view, a Celery task, a management command)."""
    async_to_sync(asend_to_topic)(name, event, payload, exclude=exclude)
