from __future__ import annotations

from django.apps import AppConfig


class E2EConfig(AppConfig):
    """Only here for the ``e2e`` management command the tests drive the servers' database with."""

    name = "tests.e2e.project"
    label = "wsroute_e2e"
