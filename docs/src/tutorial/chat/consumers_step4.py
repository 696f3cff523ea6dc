from typing import Annotated, Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, StringConstraints

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

    def on_connect(self):
        self.group_add(self.room)

    async def on_say(self, event: Say):  # validated: event is a Say, event.text is not blank
        await self.group_send(self.room, "message", {"name": self.name, "text": event.text})
        return {"event": "sent"}  # the reply, sent back with the request's ref
