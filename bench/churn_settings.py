"""Django settings for ``bench/churn.py``'s server processes and its ``migrate`` subprocesses.

The database comes from the environment, so one settings module serves every configuration:

* ``WSROUTE_BENCH_DATABASE_URL``: ``sqlite:///<absolute path>`` or
  ``postgres://<user>@<host>:<port>/<name>`` (required);
* ``WSROUTE_BENCH_SQLITE_SYNCHRONOUS``: a ``PRAGMA synchronous`` value run on every new SQLite
  connection (``NORMAL`` pairs with the WAL journal mode the benchmark sets on the file;
  empty: SQLite's default, ``FULL``);
* ``WSROUTE_BENCH_CONN_MAX_AGE``: Django's ``CONN_MAX_AGE`` in seconds (default ``0``, Django's
  own default: a new database connection for every ``database_sync_to_async`` call; ``none``:
  connections kept for good);
* ``WSROUTE_BENCH_SYNC_RUNNER``: ``WSROUTE["SYNC_WORKERS"]`` for ``bench/sync_handlers.py``:
  ``shared`` (default: ``None``, asgiref's one thread) or a pool size.

No middleware, the in-memory channel layer: every consumer of ``churn_app`` runs under the same stack.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlsplit

DATABASE_URL_ENV = "WSROUTE_BENCH_DATABASE_URL"
SQLITE_SYNCHRONOUS_ENV = "WSROUTE_BENCH_SQLITE_SYNCHRONOUS"
CONN_MAX_AGE_ENV = "WSROUTE_BENCH_CONN_MAX_AGE"


def database(url: str, conn_max_age: int | None, sqlite_synchronous: str) -> dict[str, Any]:
    """``DATABASES["default"]`` for ``url``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        options = {"init_command": f"PRAGMA synchronous={sqlite_synchronous};"} if sqlite_synchronous else {}
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": unquote(parts.path),
            "CONN_MAX_AGE": conn_max_age,
            "OPTIONS": options,
        }
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or "postgres"),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "127.0.0.1",
            "PORT": str(parts.port or 5432),
            "CONN_MAX_AGE": conn_max_age,
        }
    raise ValueError(f"{DATABASE_URL_ENV}={url!r}: expected sqlite:///<path> or postgres://...")


def conn_max_age(value: str) -> int | None:
    return None if value.lower() == "none" else int(value)


_url = os.environ.get(DATABASE_URL_ENV)
if not _url:
    raise RuntimeError(f"churn_settings needs {DATABASE_URL_ENV} (bench/churn.py sets it)")

SECRET_KEY = "wsroute-bench-not-secret"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.auth",  # Socket.user
    "django.contrib.contenttypes",
    "django.contrib.sessions",  # Socket.session
    "wsroute_django",
]
DATABASES = {
    "default": database(
        _url,
        conn_max_age(os.environ.get(CONN_MAX_AGE_ENV, "0")),
        os.environ.get(SQLITE_SYNCHRONOUS_ENV, ""),
    )
}
# A layer is needed: a persisted consumer's row records its channel name, which Channels only
# gives a consumer under a layer. Every consumer runs under it, as in a real project.
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
WSROUTE: dict[str, Any] = {"PERSIST": False}  # each consumer of churn_app says persist = True or False itself
# bench/sync_handlers.py: "shared" (asgiref's one thread) or a pool size
_runner = os.environ.get("WSROUTE_BENCH_SYNC_RUNNER", "shared")
WSROUTE["SYNC_WORKERS"] = None if _runner == "shared" else int(_runner)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"wsroute": {"level": "WARNING"}, "django": {"level": "WARNING"}},
}
