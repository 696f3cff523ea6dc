"""The public imports work before Django is set up (from settings.py, urls.py, asgi.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_fresh(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter with no DJANGO_SETTINGS_MODULE, warnings as errors."""
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_public_names_import_without_settings_or_app_registry() -> None:
    result = run_fresh(
        """
        from wsroute_django import SocketRouter, RoutedSocketHandler, JSONWebSocket, SocketMiddleware

        from django.apps import apps
        from django.conf import settings

        from wsroute import Middleware
        from wsroute_django import SocketConsumer

        assert issubclass(JSONWebSocket, SocketConsumer) and issubclass(RoutedSocketHandler, SocketConsumer)
        assert issubclass(SocketMiddleware, Middleware)
        assert isinstance(SocketRouter().Handler, type) and issubclass(SocketRouter().Handler, RoutedSocketHandler)
        assert not settings.configured, "importing wsroute_django configured settings"
        assert not apps.apps_ready and not apps.ready, "importing wsroute_django populated the app registry"
        print("imported")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"


def test_consumers_can_be_declared_without_settings_or_app_registry() -> None:
    """What a urls.py or consumers.py does at import time, before django.setup()."""
    result = run_fresh(
        """
        import re

        from django.apps import apps
        from django.conf import settings
        from django.views import View

        from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketMiddleware, SocketRouter

        class Gather(SocketMiddleware):
            def on_connect(self):
                pass

        class Chat(JSONWebSocket):
            middlewares = [Gather]

            def on_say(self, event):
                return {"event": "said"}

        class Poker(RoutedSocketHandler):
            routes = (*RoutedSocketHandler.routes, (re.compile("ACT_.+"), "on_act"))

            def on_act(self, content):
                pass

        class Page(View):
            socket = SocketRouter(handler=Poker)

            @socket.route("PING")
            def ping(socket, content):
                pass

        apps_ = [Chat.as_asgi(), Page.socket.as_asgi()]
        assert not settings.configured
        assert not apps.apps_ready and not apps.ready
        print("declared")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "declared"


def test_the_core_never_imports_django_or_channels() -> None:
    result = run_fresh(
        """
        import sys

        import wsroute
        import wsroute.contrib

        loaded = sorted(name for name in sys.modules if name.split(".")[0] in {"django", "channels"})
        assert not loaded, loaded
        print("clean")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"
