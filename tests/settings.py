"""Django settings for the test suite: SQLite and the in-memory channel layer by default.

WSROUTE_TEST_DATABASE_URL (postgres://...) and WSROUTE_TEST_REDIS_URL (redis://...) switch
the suite onto PostgreSQL and channels-redis; CI sets both.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

SECRET_KEY = "wsroute-tests-not-secret"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",  # tests/rows/test_admin.py renders the Socket admin
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "channels",
    "wsroute_django",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

ASGI_APPLICATION = "tests.asgi.application"

_database_url = os.environ.get("WSROUTE_TEST_DATABASE_URL")
if _database_url:
    _db = urlsplit(_database_url)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _db.path.lstrip("/") or "test",
            "USER": _db.username or "postgres",
            "PASSWORD": _db.password or "",
            "HOST": _db.hostname or "127.0.0.1",
            "PORT": str(_db.port or 5432),
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

_redis_url = os.environ.get("WSROUTE_TEST_REDIS_URL")
if _redis_url:
    # channels-redis 4.3 + redis-py 8 (as in tests/e2e/project/settings.py): the layer blocks 5 s in
    # BZPOPMIN, and redis-py 8's default 5 s socket timeout turns that into a TimeoutError that
    # kills an idle consumer, or one disconnecting while its receive is pending.
    _host = {"address": _redis_url, "socket_timeout": 10, "max_connections": 1000}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [_host]}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "wsroute_django.memory_layer.MemoryChannelLayer"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"wsroute": {"level": "DEBUG"}},
}

# Consumer tests that do not touch the database run without Socket rows; the persistence
# tests turn them on per consumer (persist = True) with a transactional database.
WSROUTE = {"PERSIST": False}
