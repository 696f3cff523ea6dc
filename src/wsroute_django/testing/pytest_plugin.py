"""pytest fixtures for wsroute consumers, registered as the ``wsroute`` plugin (``pytest11``).

- ``socket_client``: ``await socket_client(target, path, user=..., ...)`` opens a connected
  ``SocketClient``; every client a test opened is closed when it ends.
- With pytest-django, a test that uses ``socket_client`` gets a transactional database
  (as if marked ``@pytest.mark.django_db(transaction=True)``): consumers run database work in
  a worker thread with its own connection, which cannot see, or write beside, the
  uncommitted transaction of a plain ``django_db`` test.

The module imports neither Django nor Channels, so it is harmless in projects that do not
use them; disable it with ``-p no:wsroute``. It needs pytest-asyncio for the async fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from wsroute_django.testing.factory import SocketClients

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover
    pytest_asyncio = None  # type: ignore[assignment]

__all__ = ["pytest_collection_modifyitems", "socket_client"]

FIXTURE = "socket_client"


def _uses_django(config: pytest.Config) -> bool:
    return config.pluginmanager.hasplugin("django")


@pytest.hookimpl(tryfirst=True)  # before pytest-django orders the tests by their database marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _uses_django(config):
        return
    for item in items:
        if FIXTURE in getattr(item, "fixturenames", ()) and item.get_closest_marker("django_db") is None:
            item.add_marker(pytest.mark.django_db(transaction=True))


def _check_database(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not _uses_django(request.config):
        return
    from pytest_django.fixtures import validate_django_db

    transaction, reset_sequences = validate_django_db(marker)[:2]
    if not (transaction or reset_sequences):
        pytest.fail(
            f"{request.node.nodeid} uses {FIXTURE} under @pytest.mark.django_db without transaction=True: "
            "consumers use the database from a worker thread, which cannot see or write beside this test's "
            "open transaction. Mark it @pytest.mark.django_db(transaction=True) (or drop the mark).",
            pytrace=False,
        )


def _close_worker_connections() -> None:
    from django.db import connections
    from django.db.backends.base.base import BaseDatabaseWrapper

    for connection in connections.all(initialized_only=True):
        # the base class's close(): SQLite's own skips in-memory databases, whose data lives
        # on in the test thread's connection
        BaseDatabaseWrapper.close(connection)


F = TypeVar("F", bound=Callable[..., Any])


def _async_fixture(fn: F) -> F:
    # Without pytest-asyncio, pytest itself reports that no plugin handles the async fixture.
    decorator = getattr(pytest_asyncio, "fixture", pytest.fixture)
    return decorator(fn)  # type: ignore[return-value]  # a fixture definition, as pytest.fixture returns


@_async_fixture
async def socket_client(request: pytest.FixtureRequest) -> AsyncIterator[SocketClients]:
    """``await socket_client(target, path, **options)`` -> a connected ``SocketClient``, closed after the test."""
    from wsroute_django.testing.factory import SocketClients

    _check_database(request)
    clients = SocketClients()
    try:
        yield clients
    finally:
        await clients.close_all()
        if _uses_django(request.config):
            from asgiref.sync import sync_to_async

            # The worker thread's connection would outlive the test database otherwise, and
            # trip pytest-django's database blocker in a later test that runs a sync handler.
            await sync_to_async(_close_worker_connections, thread_sensitive=True)()
