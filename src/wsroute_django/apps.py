from __future__ import annotations

from django.apps import AppConfig


class WsrouteConfig(AppConfig):
    name = "wsroute_django"
    label = "wsroute"
    verbose_name = "wsroute"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wsroute_django import checks  # noqa: F401  # registers the system checks
