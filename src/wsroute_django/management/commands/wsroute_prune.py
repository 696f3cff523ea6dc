from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandParser

from wsroute_django.presence import forget_channels, prune_stale


class Command(BaseCommand):
    help = "Delete Socket rows (and their group memberships) whose server process stopped refreshing them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stale-after", type=float, default=None, help="seconds; default WSROUTE['STALE_AFTER']")

    def handle(self, *args: Any, stale_after: float | None = None, **options: Any) -> None:
        memberships = prune_stale(stale_after)
        async_to_sync(forget_channels)(memberships)
        self.stdout.write(f"pruned {len(memberships)} stale socket(s)")
