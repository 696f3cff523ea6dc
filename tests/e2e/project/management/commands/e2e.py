"""``python -m django e2e ...``: what the tests do to the servers' database and sockets.

- ``login <username>``: create the user if missing and a database session logged in as
  them; print the session key (the ``sessionid`` cookie).
- ``send <username> <json>``: ``Socket.objects.for_user(user).send_json(json)``; print the count.
- ``close <username> <code>``: ``Socket.objects.for_user(user).close(code)``; print the count.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import BaseCommand, CommandParser

from wsroute_django.models import Socket


class Command(BaseCommand):
    help = "Drive the end-to-end tests' servers: log users in, send to and close their sockets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["login", "send", "close"])
        parser.add_argument("username")
        parser.add_argument("argument", nargs="?", default="")

    def handle(self, *args: Any, action: str, username: str, argument: str, **options: Any) -> None:
        user, _ = get_user_model().objects.get_or_create(username=username)
        if action == "login":
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            self.stdout.write(str(session.session_key))
        elif action == "send":
            self.stdout.write(str(Socket.objects.for_user(user).send_json(json.loads(argument))))
        else:
            self.stdout.write(str(Socket.objects.for_user(user).close(int(argument))))
