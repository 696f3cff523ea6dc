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
    #: client frames larger than this many UTF-8 bytes get a ``too_large`` error frame (below
    #: daphne's own 1 MiB limit, so the socket stays open); None: only the server's limit
    MAX_MESSAGE_SIZE: int | None = 512 * 1024
    #: outgoing frames larger than this many UTF-8 bytes are not sent (logged; ``server_error``)
    MAX_SEND_SIZE: int | None = 1024 * 1024
    #: flood control: frames per socket per period, counted before decoding; None turns it off
    RATE_LIMIT: str | None = "100/s"
    #: frames a socket may send at once above RATE_LIMIT (None: twice its count)
    RATE_LIMIT_BURST: int | None = 200
    #: a socket that gets this many error frames within the period is closed with 4429
    ERROR_LIMIT: str | None = "50/10s"
    #: topics one socket may be in at once; a join beyond gets ``too_many_topics``
    MAX_TOPICS: int = 100
    #: Prometheus metrics (needs the wsroute[metrics] extra); off: they cost nothing
    METRICS: bool = False
    #: sync handlers (and sync hooks, middleware and layer-event methods) run on a pool of this
    #: many threads per process; None: asgiref's one shared thread (``database_sync_to_async``)
    SYNC_WORKERS: int | None = None


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
