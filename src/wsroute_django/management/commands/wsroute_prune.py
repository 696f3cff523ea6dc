from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandParser

from wsroute_django.rows import after_prune, delete_stale


class Command(BaseCommand):
    help = (
        "Delete Socket rows (and their group memberships) whose server process stopped refreshing them, "
        "and send their group_left and socket_disconnected signals."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stale-after", type=float, default=None, help="seconds; default WSROUTE['STALE_AFTER']")

    def handle(self, *args: Any, stale_after: float | None = None, **options: Any) -> None:
        pruned = delete_stale(stale_after)
        async_to_sync(after_prune)(pruned)  # out of their layer groups; the disconnect signals
        self.stdout.write(f"pruned {len(pruned)} stale socket(s)")
