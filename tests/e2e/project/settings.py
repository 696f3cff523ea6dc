"""Settings for the daphne processes the end-to-end tests start (not for the test process).

Environment (set by the fixtures in ``tests/e2e/conftest.py``):

- ``WSROUTE_TEST_DATABASE_URL``: PostgreSQL server (database ``E2E_DATABASE_NAME``,
  default ``wsroute_e2e``, so it never clashes with pytest-django's test database);
  otherwise the SQLite file ``E2E_SQLITE_PATH``, shared by every process.
- ``WSROUTE_TEST_REDIS_URL``: channels-redis (key prefix ``E2E_REDIS_PREFIX``); otherwise
  the in-memory layer (one process only). Connection options:
  ``REDIS_HOST_OPTIONS`` below, replaced by ``E2E_REDIS_OPTIONS`` (JSON; ``{}``: the bare URL,
  channels-redis's defaults) to reproduce the channels-redis + redis-py 8 hazards.
- ``E2E_HEARTBEAT`` / ``E2E_STALE``: ``WSROUTE`` liveness, short so crash recovery shows quickly.
- ``E2E_WSROUTE``: JSON merged into ``WSROUTE`` last (``bench/fuzz.py`` turns ``ERROR_LIMIT`` off).
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit

SECRET_KEY = "wsroute-e2e-not-secret"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.e2e.project.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ASGI_APPLICATION = "tests.e2e.project.asgi.application"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "channels",
    "wsroute_django",
    "tests.e2e.project.apps.E2EConfig",
]

_database_url = os.environ.get("WSROUTE_TEST_DATABASE_URL")
if _database_url:
    _db = urlsplit(_database_url)
    DATABASES: dict[str, dict[str, Any]] = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("E2E_DATABASE_NAME", "wsroute_e2e"),
            "USER": _db.username or "postgres",
            "PASSWORD": _db.password or "",
            "HOST": _db.hostname or "127.0.0.1",
            "PORT": str(_db.port or 5432),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("E2E_SQLITE_PATH", "wsroute_e2e.sqlite3"),
            # several processes write the same file: WAL, take the write lock up front, wait for it
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

#: channels-redis connection options (channels-redis 4.3 with redis-py 8): the
#: layer blocks 5 s in BZPOPMIN, so the socket timeout must be longer than redis-py's default
#: 5 s or an idle consumer's receive times out and the consumer dies; and the pool must be
#: larger than redis-py's default 100 connections per process, or a burst of disconnects
#: (each leaving its groups at once) fails with "Too many connections".
REDIS_HOST_OPTIONS: dict[str, Any] = {"socket_timeout": 10, "max_connections": 1000}

_redis_url = os.environ.get("WSROUTE_TEST_REDIS_URL")
if _redis_url:
    # E2E_REDIS_OPTIONS (JSON) replaces the options; "{}" is the bare URL, the layer's defaults
    _raw_options = os.environ.get("E2E_REDIS_OPTIONS")
    _options: dict[str, Any] = REDIS_HOST_OPTIONS if _raw_options is None else json.loads(_raw_options)
    CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": _redis_url, **_options} if _options else _redis_url],
                "prefix": os.environ.get("E2E_REDIS_PREFIX", "wsroute-e2e"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "wsroute_django.memory_layer.MemoryChannelLayer"}}

WSROUTE: dict[str, Any] = {
    "PERSIST": False,  # the e2e consumers turn it on themselves (persist = True)
    "HEARTBEAT_INTERVAL": float(os.environ.get("E2E_HEARTBEAT", "30")),
    "STALE_AFTER": float(os.environ.get("E2E_STALE", "90")),
    # E2E_WSROUTE (JSON) adds or replaces keys: the fuzzer turns ERROR_LIMIT off with '{"ERROR_LIMIT": null}'
    **json.loads(os.environ.get("E2E_WSROUTE", "{}")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "wsroute": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "channels_redis": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
