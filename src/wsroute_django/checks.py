"""System checks for ``WSROUTE``: a bad value is a ``manage.py check`` error, not a runtime surprise."""

from __future__ import annotations

import importlib.util
from dataclasses import fields
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from wsroute import ConfigError
from wsroute.limits import parse_rate
from wsroute_django.conf import DEFAULTS, WsrouteSettings, get_settings

__all__ = ["check_channel_layer", "check_connection_reuse", "check_settings", "check_sync_workers_on_sqlite"]


def _error(message: str, hint: str, n: int) -> Error:
    return Error(message, hint=hint, obj="settings.WSROUTE", id=f"wsroute.E{n:03d}")


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = getattr(settings, "WSROUTE", {})
    if not isinstance(value, dict):
        return [_error(f"WSROUTE must be a dict, got {type(value).__name__}", "WSROUTE = {'PERSIST': True, ...}", 1)]
    errors: list[CheckMessage] = []
    known = [field.name for field in fields(WsrouteSettings)]
    for key in value:
        if key not in known:
            errors.append(_error(f"unknown WSROUTE key {key!r}", f"known keys: {', '.join(known)}", 2))
    for key in ("PERSIST", "METRICS"):
        if key in value and not isinstance(value[key], bool):
            errors.append(_error(f"WSROUTE[{key!r}] must be True or False", "", 3))
    if value.get("METRICS") is True and importlib.util.find_spec("prometheus_client") is None:
        errors.append(
            Warning(
                "WSROUTE['METRICS'] is on but prometheus_client is not installed: nothing is counted",
                hint="pip install 'wsroute[metrics]'",
                obj="settings.WSROUTE",
                id="wsroute.W003",
            )
        )
    for key in ("HEARTBEAT_INTERVAL", "STALE_AFTER"):
        number = value.get(key, 1)
        if isinstance(number, bool) or not isinstance(number, int | float) or number <= 0:
            errors.append(_error(f"WSROUTE[{key!r}] must be a positive number of seconds, got {number!r}", "", 4))
    interval = value.get("HEARTBEAT_INTERVAL", DEFAULTS.HEARTBEAT_INTERVAL)
    stale = value.get("STALE_AFTER", DEFAULTS.STALE_AFTER)
    if not errors and stale <= interval:
        errors.append(
            _error(
                f"WSROUTE['STALE_AFTER'] ({stale}) must be longer than HEARTBEAT_INTERVAL ({interval})",
                "live rows are refreshed once per interval; use at least 2-3 intervals",
                5,
            )
        )
    header = value.get("TRUSTED_PROXY_HEADER")
    if header is not None and (not isinstance(header, str) or not header.strip()):
        errors.append(_error("WSROUTE['TRUSTED_PROXY_HEADER'] must be a header name or None", "", 6))
    topics = value.get("MAX_TOPICS", 1)
    if isinstance(topics, bool) or not isinstance(topics, int) or topics <= 0:
        errors.append(_error(f"WSROUTE['MAX_TOPICS'] must be a positive int, got {topics!r}", "default: 100", 10))
    for key in ("MAX_MESSAGE_SIZE", "MAX_SEND_SIZE", "RATE_LIMIT_BURST"):
        size = value.get(key)
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
            errors.append(_error(f"WSROUTE[{key!r}] must be a positive int or None", "a number of bytes", 7))
    workers = value.get("SYNC_WORKERS")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers <= 0):
        errors.append(
            _error(
                "WSROUTE['SYNC_WORKERS'] must be a positive int or None",
                "threads per process for sync handlers; None: asgiref's one shared thread",
                9,
            )
        )
    for key in ("RATE_LIMIT", "ERROR_LIMIT"):
        rate = value.get(key)
        if rate is None:
            continue
        try:
            parse_rate(rate)
        except ConfigError as exc:
            errors.append(_error(f"WSROUTE[{key!r}]: {exc}", "e.g. '100/s', '50/10s', or None to turn it off", 8))
    return errors


@register()
def check_connection_reuse(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Socket rows with ``CONN_MAX_AGE = 0`` open and close a database connection per write."""
    persist = get_settings().PERSIST
    database = settings.DATABASES.get("default", {})
    if not persist or database.get("CONN_MAX_AGE", 0) != 0:
        return []
    return [
        Warning(
            "WSROUTE['PERSIST'] is on and DATABASES['default']['CONN_MAX_AGE'] is 0: every Socket row "
            "write on connect and disconnect opens and closes a database connection",
            hint="set CONN_MAX_AGE = 60 and CONN_HEALTH_CHECKS = True (about 2x the connect rate with rows on)",
            obj="settings.DATABASES",
            id="wsroute.W001",
        )
    ]


@register()
def check_sync_workers_on_sqlite(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Sync handlers in several threads write SQLite one at a time: "database is locked"."""
    workers = get_settings().SYNC_WORKERS
    engine = settings.DATABASES.get("default", {}).get("ENGINE", "")
    if workers is None or workers == 1 or not engine.endswith("sqlite3"):
        return []
    return [
        Warning(
            f"WSROUTE['SYNC_WORKERS'] is {workers} and the default database is SQLite: sync handlers "
            "writing in several threads wait for SQLite's one write lock, and transactions that read "
            "before they write fail with 'database is locked'",
            hint="leave SYNC_WORKERS at None with SQLite (asgiref's one shared thread), or use PostgreSQL",
            obj="settings.WSROUTE",
            id="wsroute.W004",
        )
    ]


@register()
def check_channel_layer(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Socket rows and groups need a channel layer; without one, rows are not written."""
    if not get_settings().PERSIST or getattr(settings, "CHANNEL_LAYERS", None):
        return []
    return [
        Warning(
            "WSROUTE['PERSIST'] is on but CHANNEL_LAYERS is not set: sockets get no channel name, "
            "so no Socket rows are written and groups cannot be used",
            hint="CHANNEL_LAYERS = {'default': {'BACKEND': 'wsroute_django.memory_layer.MemoryChannelLayer'}} "
            "for one process, channels_redis for several",
            obj="settings.CHANNEL_LAYERS",
            id="wsroute.W002",
        )
    ]
