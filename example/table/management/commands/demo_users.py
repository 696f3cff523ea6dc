from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USERS = ["demo", "demo2"]


class Command(BaseCommand):
    help = "Create the demo users demo/demo and demo2/demo2 (again: reset their passwords)."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        for name in DEMO_USERS:
            user, created = User.objects.get_or_create(username=name)
            user.set_password(name)
            user.save()
            self.stdout.write(f"{'created' if created else 'reset'} {name} (password {name!r})")
