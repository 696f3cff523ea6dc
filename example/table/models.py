"""The game at the table: tic-tac-toe, one game, kept in the database so every server process sees it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from wsroute_django import Forbidden

EMPTY = "."
LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


class Game(models.Model):
    """Seats X and O, the board as nine characters, whose turn it is, and the outcome.

    The methods raise ``Forbidden`` for moves the rules do not allow: the player gets a
    ``forbidden`` error frame with the reason, and the game is unchanged.
    """

    board = models.CharField(max_length=9, default=EMPTY * 9)
    x = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    o = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    turn = models.CharField(max_length=1, default="X")
    winner = models.CharField(max_length=4, blank=True, default="")  # "X", "O", "draw" or ""

    @classmethod
    def current(cls, *, for_update: bool = False) -> Game:
        """The table's game; ``for_update=True`` locks its row (inside ``transaction.atomic()``)."""
        games = cls.objects.select_related("x", "o")
        game, _ = (games.select_for_update(of=("self",)) if for_update else games).get_or_create(pk=1)
        return game

    def state(self) -> dict[str, Any]:
        return {
            "board": list(self.board),
            "seats": {"X": self.x.get_username() if self.x else None, "O": self.o.get_username() if self.o else None},
            "turn": self.turn,
            "winner": self.winner or None,
        }

    def seat_of(self, user: Any) -> str | None:
        return "X" if self.x_id == user.pk else "O" if self.o_id == user.pk else None

    def sit(self, user: Any) -> None:
        if self.seat_of(user):
            raise Forbidden("you already have a seat")
        if self.x_id is None:
            self.x = user
        elif self.o_id is None:
            self.o = user
        else:
            raise Forbidden("both seats are taken")

    def stand(self, user: Any) -> None:
        seat = self._seated(user)
        setattr(self, seat.lower(), None)
        self.restart()

    def move(self, user: Any, cell: int) -> None:
        seat = self._seated(user)
        if self.x_id is None or self.o_id is None:
            raise Forbidden("wait for an opponent")
        if self.winner:
            raise Forbidden("the game is over: start a new one")
        if seat != self.turn:
            raise Forbidden(f"it is {self.turn}'s turn")
        if self.board[cell] != EMPTY:
            raise Forbidden("that cell is taken")
        self.board = self.board[:cell] + seat + self.board[cell + 1 :]
        if any(all(self.board[i] == seat for i in line) for line in LINES):
            self.winner = seat
        elif EMPTY not in self.board:
            self.winner = "draw"
        self.turn = "O" if seat == "X" else "X"

    def restart(self, user: Any = None) -> None:
        if user is not None:
            self._seated(user)
        self.board, self.turn, self.winner = EMPTY * 9, "X", ""

    def _seated(self, user: Any) -> str:
        seat = self.seat_of(user)
        if seat is None:
            raise Forbidden("take a seat first")
        return seat
