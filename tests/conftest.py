"""Suite-wide rules: tests that need Redis, PostgreSQL or a browser say so, and CI refuses to skip them."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

CHROMIUM = Path(os.environ.get("WSROUTE_CHROMIUM", "/usr/bin/chromium"))


def _missing(marker: str) -> str | None:
    """Why tests with ``marker`` cannot run here, or None if they can."""
    if marker == "redis" and not os.environ.get("WSROUTE_TEST_REDIS_URL"):
        return "needs Redis: set WSROUTE_TEST_REDIS_URL=redis://127.0.0.1:6379/0"
    if marker == "postgres" and not os.environ.get("WSROUTE_TEST_DATABASE_URL"):
        return "needs PostgreSQL: set WSROUTE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
    if marker == "browser":
        if not CHROMIUM.exists():
            return f"needs Chromium at {CHROMIUM} (apt-get install chromium, or set WSROUTE_CHROMIUM)"
        if importlib.util.find_spec("playwright") is None:
            return "needs playwright (pip install -e '.[dev]')"
    return None


def pytest_configure(config: pytest.Config) -> None:
    # wsroute's own pytest plugin comes through its pytest11 entry point; an editable install
    # made before the entry point existed lacks it until reinstalled, so register it here.
    manager = config.pluginmanager
    if not manager.has_plugin("wsroute") and not manager.is_blocked("wsroute"):
        from wsroute_django.testing import pytest_plugin

        manager.register(pytest_plugin, "wsroute")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    required = {
        "redis": os.environ.get("WSROUTE_REQUIRE_SERVICES") == "1",
        "postgres": os.environ.get("WSROUTE_REQUIRE_SERVICES") == "1",
        "browser": os.environ.get("WSROUTE_REQUIRE_BROWSER") == "1",
    }
    reasons = {marker: _missing(marker) for marker in required}
    for item in items:
        for marker, reason in reasons.items():
            if reason is None or item.get_closest_marker(marker) is None:
                continue
            if required[marker]:
                raise pytest.UsageError(f"CI requires {item.nodeid}, but it {reason}")
            item.add_marker(pytest.mark.skip(reason=reason))


def _close_this_threads_connections() -> None:
    for conn in connections.all(initialized_only=True):
        # SQLite's close() ignores in-memory databases; this thread's handle can go, the
        # database lives on in the test thread's connection.
        BaseDatabaseWrapper.close(conn)


@pytest.fixture(autouse=True)
async def _release_worker_db_connections(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Close the DB connection a ``django_db`` test opened in the sync-handler thread.

    Sync handlers run in one shared worker thread (``database_sync_to_async``), which
    checks its connection before every call. pytest-django runs database tests first; a
    connection they leave in that thread would trip pytest-django's database blocker in
    every later test that runs a sync handler without the ``django_db`` mark.
    """
    yield
    if request.node.get_closest_marker("django_db") is not None:
        await sync_to_async(_close_this_threads_connections, thread_sensitive=True)()


@pytest.fixture(autouse=True)
async def _fresh_channel_layers() -> AsyncIterator[None]:
    """Give every test its own channel-layer instances.

    Each test runs on its own event loop, and channels-redis binds its receive lock and
    connection pools to the loop that first used them; a layer object carried into the
    next test fails there with "Lock ... is bound to a different event loop".
    """
    yield
    for layer in list(channel_layers.backends.values()):
        close_pools = getattr(layer, "close_pools", None)
        if close_pools is not None:
            await close_pools()
    channel_layers.backends.clear()
