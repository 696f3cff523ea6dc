"""Fixtures for the end-to-end tests: a migrated database shared by real daphne processes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.support import Cluster, Database, migrated_database


@pytest.fixture(scope="session")
def e2e_database(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Database]:
    """The servers' database, migrated once: a SQLite file, or ``wsroute_e2e_<database>`` on PostgreSQL."""
    return migrated_database(tmp_path_factory)


@pytest.fixture
async def cluster(e2e_database: tuple[dict[str, str], Database], tmp_path: Path) -> AsyncIterator[Cluster]:
    """An empty database and a fresh channel-layer prefix; the test's sockets and servers are closed after it."""
    env, db = e2e_database
    db.reset()
    env = {**env, "E2E_REDIS_PREFIX": f"wsroute-e2e-{uuid.uuid4().hex[:12]}"}
    cluster = Cluster(env=env, db=db, workdir=tmp_path)
    try:
        yield cluster
    finally:
        await cluster.close()
