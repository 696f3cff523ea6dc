"""Sending to sockets from views, tasks, management commands and async code."""

from __future__ import annotations

import io
import json
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.http import HttpRequest, JsonResponse
from django.test import RequestFactory
from django.views import View

from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketRouter
from wsroute_django.models import Socket


class News(JSONWebSocket):  # subclass style: routing key "event"
    persist = True


class PersistedHandler(RoutedSocketHandler):
    persist = True


class GamePage(View):  # decorator style: routing key "type"
    socket = SocketRouter(handler=PersistedHandler)


# --8<-- [start:sync]
def announce(request: HttpRequest) -> JsonResponse:  # a view
    sent = Socket.objects.on_path("/news/").send_event("announcement", {"text": request.POST["text"]})
    return JsonResponse({"sent_to": sent})


def notify_user(user_id: int, text: str) -> int:  # a Celery task: decorate with @shared_task
    return Socket.objects.for_user(user_id).send_json({"type": "NOTICE", "text": text})


class Command(BaseCommand):  # a management command: myapp/management/commands/broadcast.py
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text")

    def handle(self, *args: Any, text: str, **options: Any) -> None:
        sent = Socket.objects.send_event("broadcast", {"text": text})
        self.stdout.write(f"sent to {sent} socket(s)")


# --8<-- [end:sync]


# --8<-- [start:async]
async def log_out_everywhere(user: Any) -> int:  # async code: the a-prefixed methods
    await Socket.objects.for_user(user).asend_json({"type": "LOGGED_OUT"})
    return await Socket.objects.for_user(user).aclose(4001)


# --8<-- [end:async]


# --8<-- [start:main]
async def main() -> list[str]:
    shown: list[str] = []
    ada = await get_user_model().objects.acreate(username="ada")
    news = WebsocketCommunicator(News.as_asgi(), "/news/")
    game = WebsocketCommunicator(GamePage.socket.as_asgi(), "/game/")
    for client in (news, game):
        client.scope["user"] = ada
        await client.connect()

    async def receive_both() -> None:
        shown.append(f"news <- {json.dumps(await news.receive_json_from())}")
        shown.append(f"game <- {json.dumps(await game.receive_json_from())}")

    request = RequestFactory().post("/announce/", {"text": "v2 is out"})
    response = await sync_to_async(announce)(request)
    shown.append(f"view: {response.content.decode()}")
    shown.append(f"news <- {json.dumps(await news.receive_json_from())}")

    shown.append(f"task: {await sync_to_async(notify_user)(ada.pk, 'your turn')}")
    await receive_both()

    out = io.StringIO()
    await sync_to_async(call_command)(Command(), "maintenance at noon", stdout=out)
    shown.append(f"command: {out.getvalue().strip()}")
    await receive_both()

    shown.append(f"closed: {await log_out_everywhere(ada)}")
    await receive_both()
    for name, client in [("news", news), ("game", game)]:
        shown.append(f"{name} closed with {(await client.receive_output())['code']}")
        await client.disconnect()  # the client answers the close; the row goes
    shown.append(f"rows left: {await Socket.objects.acount()}")
    return shown


# --8<-- [end:main]
