"""The WSROUTE settings dict with its defaults, and what ``manage.py check`` says about bad values."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

# --8<-- [start:defaults]
WSROUTE = {
    "PERSIST": True,
    "HEARTBEAT_INTERVAL": 30.0,
    "STALE_AFTER": 90.0,
    "TRUSTED_PROXY_HEADER": None,
    "MAX_MESSAGE_SIZE": 512 * 1024,  # bytes of UTF-8
    "MAX_SEND_SIZE": 1024 * 1024,
    "RATE_LIMIT": "100/s",
    "RATE_LIMIT_BURST": 200,
    "ERROR_LIMIT": "50/10s",
    "MAX_TOPICS": 100,
    "METRICS": False,
    "SYNC_WORKERS": None,  # asgiref's one shared thread; or a pool size, e.g. 8
}
# --8<-- [end:defaults]


# --8<-- [start:main]
def check(wsroute: object) -> list[str]:
    """What ``python manage.py check`` reports for ``WSROUTE = wsroute``."""
    with override_settings(WSROUTE=wsroute):
        try:
            call_command("check", stdout=io.StringIO(), stderr=io.StringIO())
        except SystemCheckError as exc:
            lines = str(exc).expandtabs(4).splitlines()
            errors = [i for i, line in enumerate(lines) if "(wsroute.E" in line]
            hints = [i + 1 for i in errors if i + 1 < len(lines) and "HINT:" in lines[i + 1]]
            return [lines[i].rstrip() for i in sorted(errors + hints)]
    return ["System check identified no issues."]


def main() -> list[str]:
    return [
        *check(WSROUTE),
        *check({"PERSIST": "yes", "HEARTBEAT": 30, "STALE_AFTER": 0, "MAX_MESSAGE_SIZE": 1.5}),
        *check({"HEARTBEAT_INTERVAL": 60, "STALE_AFTER": 60}),
        *check({"TRUSTED_PROXY_HEADER": "", "SYNC_WORKERS": 0, "MAX_TOPICS": 0}),
        *check({"RATE_LIMIT": "fast", "ERROR_LIMIT": "50 per 10s"}),
        *check(["PERSIST"]),
    ]


# --8<-- [end:main]
