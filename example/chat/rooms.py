"""Chat rooms as topics, in the decorator style: one socket, many rooms, a "here now" list per room.

``/rooms/`` opens one socket on ``/ws/rooms/`` and joins each room the visitor picks as the
topic ``room:<name>``; the room's "here now" list is its presence, per user (two tabs of one
user are one entry). ``room:private`` is for logged-in users only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from wsroute_django import Forbidden, Join, RoutedSocketHandler, SocketRouter
from wsroute_django.consumer import SocketConsumer


class PersistedHandler(RoutedSocketHandler):
    persist = True  # presence is read from the Socket rows


def display_name(socket: SocketConsumer) -> str:
    user = socket.user
    if user is not None and user.is_authenticated:
        return str(user.get_username())
    query = parse_qs(socket.scope.get("query_string", b"").decode())
    return query.get("name", ["guest"])[0].strip()[:30] or "guest"


# --8<-- [start:rooms]
class Rooms(View):
    socket = SocketRouter(handler=PersistedHandler)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "chat/rooms.html", {"query": request.META.get("QUERY_STRING", "")})

    @socket.topic("room:{name}")
    def join_room(socket: SocketConsumer, join: Join) -> None:  # type: ignore[misc]  # socket, not self
        if join.params["name"] == "private" and not socket.user.is_authenticated:
            raise Forbidden("log in to join the private room")

    @socket.presence_meta
    def who(socket: SocketConsumer, topic: str) -> dict[str, Any]:  # type: ignore[misc]
        return {"name": display_name(socket)}

    @socket.route("SAY")
    async def say(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:  # type: ignore[misc]
        text = str(content.get("text", "")).strip()[:500]
        if text:  # content["topic"] is a room this socket joined: wsroute checked it
            await socket.broadcast(content["topic"], "SAID", {"name": display_name(socket), "text": text})
        return {"type": "SENT"}


# --8<-- [end:rooms]
