"""Settings for several daphne processes sharing PostgreSQL and Redis (CHANNEL_LAYERS is on the page)."""

from __future__ import annotations

import os

# --8<-- [start:settings]
ASGI_APPLICATION = "mysite.asgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("POSTGRES_DB", "mysite"),
        "USER": os.environ.get("POSTGRES_USER", "mysite"),
        "PASSWORD": os.environ.get("POSTGRES_PASSWORD", ""),
        "HOST": os.environ.get("POSTGRES_HOST", "127.0.0.1"),
        "PORT": os.environ.get("POSTGRES_PORT", "5432"),
    }
}

WSROUTE = {
    # The proxy in front of daphne sets this header to the client's address (see below).
    "TRUSTED_PROXY_HEADER": "x-real-ip",
}
# --8<-- [end:settings]
