# At the end of mysite/settings.py: PostgreSQL and Redis, when the environment names them.
import os
from urllib.parse import unquote, urlsplit

if os.environ.get("DATABASE_URL"):  # postgres://user:password@host:5432/name
    _db = urlsplit(os.environ["DATABASE_URL"])
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(_db.path.lstrip("/")),
        "USER": unquote(_db.username or ""),
        "PASSWORD": unquote(_db.password or ""),
        "HOST": _db.hostname or "",
        "PORT": str(_db.port or ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }

if os.environ.get("REDIS_URL"):  # redis://host:6379/0
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # The hosts dict, not the bare URL: see the note below.
            "CONFIG": {"hosts": [{"address": os.environ["REDIS_URL"], "socket_timeout": 10, "max_connections": 1000}]},
        }
    }
