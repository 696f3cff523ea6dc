from typing import Annotated, Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, StringConstraints

from chat.models import Member
from wsroute_django import JSONWebSocket, Reject, SocketMiddleware


class Nickname(SocketMiddleware):
    """Names the socket before the consumer's on_connect: the logged-in user's name, or ?name=."""

    def on_connect(self):
        user = self.consumer.user
        if user is not None and user.is_authenticated:
            name = user.get_username()
        else:
            query = parse_qs(self.scope.get("query_string", b"").decode())
            name = query.get("name", [""])[0].strip()
        if not name:
            raise Reject("a chat name is needed: log in, or add ?name=... to the URL")  # closes with 4403
        self.consumer.name = name[:30]


class Say(BaseModel):
    """{"event": "say", "text": "..."}: anything else gets a validation_error frame."""

    event: Literal["say"]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ChatConsumer(JSONWebSocket):
    middlewares = [Nickname]

    @property
    def room(self):
        return f"chat.{self.scope['url_route']['kwargs']['room']}"

    def on_connect(self):  # sync: runs in a worker thread, where the ORM works; no await
        Member.objects.create(socket=self.record, name=self.name)
        self.group_add(self.room)
        self.group_send(self.room, "joined", {"name": self.name})
        self.group_call_event(self.room, "who")  # every socket in the room re-reads the list

    async def on_say(self, event: Say):  # async: runs on the event loop; await
        await self.group_send(self.room, "message", {"name": self.name, "text": event.text})
        return {"event": "sent"}

    def on_who(self):
        """Send this socket the names in the room: asked by the client, or by group_call_event."""
        names = Member.objects.filter(socket__memberships__name=self.room).values_list("name", flat=True)
        self.send_json({"event": "who", "names": sorted(set(names))})

    def on_disconnect(self):
        if self.room not in self.groups:
            return  # refused by Nickname: it never joined
        self.group_discard(self.room)  # now the list no longer has us
        self.group_send(self.room, "left", {"name": self.name})
        self.group_call_event(self.room, "who")
