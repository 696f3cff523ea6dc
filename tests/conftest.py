"""Suite-wide rules: tests that need Redis or PostgreSQL say so, and CI refuses to skip them."""

from __future__ import annotations

import os

import pytest

SERVICES = {
    "redis": ("WSROUTE_TEST_REDIS_URL", "needs Redis: set WSROUTE_TEST_REDIS_URL=redis://127.0.0.1:6379/0"),
    "postgres": (
        "WSROUTE_TEST_DATABASE_URL",
        "needs PostgreSQL: set WSROUTE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test",
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    required = os.environ.get("WSROUTE_REQUIRE_SERVICES") == "1"
    for item in items:
        for marker, (variable, reason) in SERVICES.items():
            if item.get_closest_marker(marker) is None or os.environ.get(variable):
                continue
            if required:
                raise pytest.UsageError(f"WSROUTE_REQUIRE_SERVICES=1 but {item.nodeid} {reason}")
            item.add_marker(pytest.mark.skip(reason=reason))
