"""A database without wsroute's tables (``migrate`` never ran): sockets that keep rows are
closed with 4500, and the server says once, without a traceback, to run ``migrate``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.support import Cluster, close_code, prepare_postgres

pytestmark = pytest.mark.e2e

UNMIGRATED_PG = "wsroute_e2e_unmigrated"


def unmigrated_database(tmp_path: Path) -> dict[str, str]:
    """Environment for a daphne whose database has no tables at all."""
    url = os.environ.get("WSROUTE_TEST_DATABASE_URL")
    if url:
        prepare_postgres(url, UNMIGRATED_PG)  # created empty, never migrated
        return {"E2E_DATABASE_NAME": UNMIGRATED_PG}
    return {"E2E_SQLITE_PATH": str(tmp_path / "never-migrated.sqlite3")}


async def test_a_missing_socket_table_closes_with_4500_and_says_run_migrate_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    server = await cluster.start("A", **unmigrated_database(tmp_path))
    for _ in range(3):
        ws = await cluster.connect(server, "/chat/lobby/")  # accepted first, so the client sees the code
        assert await close_code(ws) == 4500

    log = server.log()
    assert log.count("run `python manage.py migrate`") == 1, log
    assert "wsroute_socket does not exist" in log
    assert "Traceback" not in log, log
    assert "could not delete its Socket row" not in log
