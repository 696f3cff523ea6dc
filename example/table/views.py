"""The game table, in the decorator style: the page's ``View`` carries its sockets."""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from table.models import Game
from wsroute import UnknownType
from wsroute_django import RoutedSocketHandler, SocketRouter

logger = logging.getLogger(__name__)

TABLE = "table"  # the group of the players' sockets
WATCHING = "table"  # the topic spectators join (topics and groups have separate names)


class SeatedPlayer(RoutedSocketHandler):
    """Players' sockets. Anonymous ones are closed with 4401 before any hook runs;
    ``{"type": "PING"}`` is answered with ``PONG`` (inherited from ``RoutedSocketHandler``)."""

    login_required = True


class Move(BaseModel):
    type: Literal["GAME_MOVE"]
    cell: Annotated[int, Field(ge=0, le=8)]


class Ok(TypedDict):
    type: Literal["OK"]


class Unknown(TypedDict):
    type: Literal["UNKNOWN"]
    got: str
    hint: str


class Seats(BaseModel):
    """Who sits where: a username, or ``None`` for a free seat."""

    X: str | None
    O: str | None  # noqa: E741  # the seat's name


class GameState(BaseModel):
    """The whole game, pushed to everyone at the table after every change."""

    board: Annotated[list[Literal["X", "O", "."]], Field(min_length=9, max_length=9)]
    seats: Seats
    turn: Literal["X", "O"]
    winner: Literal["X", "O", "draw"] | None


def push_state(socket: Any, game: Game) -> None:
    """Send the game to everyone at the table: the players' group and the spectators' topic."""
    state = game.state()
    socket.group_send(TABLE, "STATE", state)
    socket.broadcast(WATCHING, "STATE", state)


class Table(View):
    socket = SocketRouter(handler=SeatedPlayer, emits={"STATE": GameState})  # /ws/table/: players
    watchers = SocketRouter(emits={"STATE": GameState})  # /ws/table/watch/: anyone may watch

    def get(self, request: HttpRequest) -> HttpResponse:
        socket_url = "/ws/table/" if request.user.is_authenticated else "/ws/table/watch/"
        return render(request, "table/table.html", {"socket_url": socket_url})

    # Handlers are sync (def): they run in a worker thread, use the ORM and call the socket without await.

    @socket.connect
    def join(socket: Any) -> None:
        socket.group_add(TABLE)
        socket.send_json({"type": "STATE", **Game.current().state()})

    @socket.route("GAME_MOVE")  # an exact name: tried before the regex below
    def move(socket: Any, content: Move) -> Ok:  # validated: a bad cell gets validation_error
        with transaction.atomic():
            game = Game.current(for_update=True)
            game.move(socket.user, content.cell)
            game.save()
        push_state(socket, game)
        return {"type": "OK"}

    @socket.route(re.compile(r"GAME_(.+)"))  # GAME_SIT, GAME_STAND, GAME_RESET
    def act(socket: Any, content: dict[str, Any], match: re.Match[str]) -> Ok:
        actions = {"SIT": Game.sit, "STAND": Game.stand, "RESET": Game.restart}
        action = actions.get(match[1])
        if action is None:
            raise UnknownType(f"no game action {match[1]!r}; try one of {', '.join(actions)} or MOVE")
        with transaction.atomic():
            game = Game.current(for_update=True)
            action(game, socket.user)
            game.save()
        push_state(socket, game)
        return {"type": "OK"}

    @socket.default_route
    def unknown(socket: Any, content: dict[str, Any]) -> Unknown:
        logger.info("%s sent %r", socket.user, content["type"])
        return {"type": "UNKNOWN", "got": content["type"], "hint": "PING, or GAME_SIT / GAME_MOVE / GAME_RESET"}

    @watchers.topic(WATCHING)
    def watch(socket: Any) -> dict[str, Any]:
        """Anyone may watch; the join reply's data is the game as it stands."""
        return Game.current().state()
