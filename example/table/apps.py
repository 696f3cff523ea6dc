from __future__ import annotations

from django.apps import AppConfig


class TableConfig(AppConfig):
    name = "table"
    default_auto_field = "django.db.models.BigAutoField"
