"""The subclass style: ``class Chat(JSONWebSocket)`` with ``on_<event>`` methods."""

from __future__ import annotations

from typing import ClassVar

from wsroute import RouteTableBuilder
from wsroute_django.consumer import SocketConsumer

__all__ = ["JSONWebSocket"]


class JSONWebSocket(SocketConsumer):
    """A consumer whose client events are its ``on_<event>`` methods.

    ::

        class Chat(JSONWebSocket):
            def on_connect(self):
                self.group_add("lobby")          # accepted for you when this returns

            async def on_say(self, event):       # client sends {"event": "say", "text": "hi"}
                await self.group_send("lobby", "said", {"text": event["text"]})

    ``on_connect`` and ``on_disconnect`` are lifecycle hooks and never reachable by clients.
    Events are found when the class is created; a client cannot reach any other method.
    """

    type_key: ClassVar[str] = "event"
    error_value: ClassVar[str] = "error"
    join_event: ClassVar[str] = "join"
    leave_event: ClassVar[str] = "leave"
    joined_event: ClassVar[str] = "joined"
    left_event: ClassVar[str] = "left"
    presence_event: ClassVar[str] = "presence"

    @classmethod
    def _collect_routes(cls, builder: RouteTableBuilder) -> None:
        super()._collect_routes(builder)
        # on_<event> methods the routes table already lists (e.g. with a schema) stay as listed.
        listed = [entry[:2] for entry in cls.routes if isinstance(entry, tuple)]
        for name in dir(cls):
            if name.startswith("on_") and len(name) > 3 and name not in cls.lifecycle_names:
                method = getattr(cls, name)
                if callable(method) and (name[3:], name) not in listed and (name[3:], method) not in listed:
                    builder.add(name[3:], method)
