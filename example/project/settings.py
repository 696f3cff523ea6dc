"""Settings for the wsroute example.

Zero set-up by default: SQLite (``example/db.sqlite3``) and the in-memory channel layer, one
process. Two environment variables move it onto shared services, with no code change, so
that several daphne processes can serve it together:

- ``DATABASE_URL``: ``postgres://user:password@host:5432/name`` (or ``sqlite:///path``);
- ``REDIS_URL``: ``redis://host:6379/0``, the channels-redis layer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "wsroute-example-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "daphne",  # first: its runserver serves ASGI (HTTP and WebSockets)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "channels",
    "wsroute_django",
    "chat",
    "table",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    },
]


def database_from_url(url: str) -> dict[str, Any]:
    """A ``DATABASES`` entry from ``postgres://...`` or ``sqlite:///relative`` / ``sqlite:////absolute``."""
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
    if parts.scheme == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": url.removeprefix("sqlite:///"),
            "OPTIONS": {"timeout": 20},
        }
    raise ImproperlyConfigured(f"DATABASE_URL must start with postgres:// or sqlite:///, got {url!r}")


DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}
# Keep database connections between Socket row writes (wsroute.W001): about 2x the connect rate.
DATABASES["default"] |= {"CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_redis_url = os.environ.get("REDIS_URL")
if _redis_url:
    # The hosts dict, not the bare URL: channels-redis blocks 5 s waiting for messages, so the
    # socket timeout must be longer than redis-py's 5 s default (or idle consumers die), and
    # the pool larger than its 100 connections (or a burst of disconnects fails).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": _redis_url, "socket_timeout": 10, "max_connections": 1000}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "wsroute_django.memory_layer.MemoryChannelLayer"}}

WSROUTE = {
    # Short, so the "who is here" lists forget the sockets of a crashed process within ~30 s
    # (WSROUTE_HEARTBEAT_INTERVAL / WSROUTE_STALE_AFTER shorten it more, for the browser tests).
    "HEARTBEAT_INTERVAL": float(os.environ.get("WSROUTE_HEARTBEAT_INTERVAL", 10.0)),
    "STALE_AFTER": float(os.environ.get("WSROUTE_STALE_AFTER", 30.0)),
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "table"
LOGOUT_REDIRECT_URL = "home"

USE_TZ = True
STATIC_URL = "static/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"wsroute": {"handlers": ["console"], "level": "INFO"}},
}
