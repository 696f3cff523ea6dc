"""The ``WSROUTE`` settings dict, read once (and again when a test overrides it)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["DEFAULTS", "WsrouteSettings", "get_settings"]


@dataclass(frozen=True, slots=True)
class WsrouteSettings:
    #: write a ``Socket`` row per live connection (a consumer may set ``persist`` itself)
    PERSIST: bool = True
    #: seconds between the per-process bulk update of ``last_ping`` on live rows
    HEARTBEAT_INTERVAL: float = 30.0
    #: rows whose ``last_ping`` is older than this many seconds belong to a dead process
    STALE_AFTER: float = 90.0
    #: a request header naming the client address, trusted only when set (e.g. "x-forwarded-for")
    TRUSTED_PROXY_HEADER: str | None = None
    #: frames longer than this many characters get a ``too_large`` error frame
    MAX_MESSAGE_SIZE: int | None = 1024 * 1024


DEFAULTS = WsrouteSettings()


def raw_settings() -> dict[str, Any]:
    value = getattr(settings, "WSROUTE", {})
    return value if isinstance(value, dict) else {}


@functools.cache
def get_settings() -> WsrouteSettings:
    """The effective settings. Unknown keys and bad values are reported by ``manage.py check``."""
    known = {field.name for field in fields(WsrouteSettings)}
    return WsrouteSettings(**{key: value for key, value in raw_settings().items() if key in known})


@receiver(setting_changed)
def _reset(setting: str, **kwargs: Any) -> None:
    if setting == "WSROUTE":
        get_settings.cache_clear()
