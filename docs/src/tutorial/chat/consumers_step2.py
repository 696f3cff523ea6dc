from wsroute_django import JSONWebSocket


class ChatConsumer(JSONWebSocket):
    @property
    def room(self):
        return f"chat.{self.scope['url_route']['kwargs']['room']}"

    def on_connect(self):
        self.group_add(self.room)  # the socket is accepted when this returns

    async def on_say(self, event):  # {"event": "say", "text": "hi"}
        await self.group_send(self.room, "message", {"text": event["text"]})
