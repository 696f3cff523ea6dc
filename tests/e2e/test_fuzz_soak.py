"""``bench/fuzz.py`` and ``bench/soak.py`` at CI size, against a real daphne process.

They run on both CI passes: SQLite and the in-memory layer, then PostgreSQL and channels-redis
(the ``cluster`` fixture follows ``WSROUTE_TEST_DATABASE_URL`` / ``WSROUTE_TEST_REDIS_URL``).
Each fails on any socket that dies, lost or mismatched reply, error frame over 8 KiB, frame
answered otherwise than docs/wire-format.md says, or ``Socket`` row / group member left after
the sockets close; the assertion message is the run's full report.
"""

from __future__ import annotations

import pytest
from bench.fuzz import FuzzConfig, run_fuzz
from bench.soak import SoakConfig, run_soak

from tests.e2e.support import Cluster

pytestmark = pytest.mark.e2e


async def test_fuzz(cluster: Cluster) -> None:
    """5,000 hostile and valid frames over 10 sockets of both styles, then a flooding socket (4429)."""
    report = await run_fuzz(cluster, FuzzConfig(frames=5_000, sockets=10, time_limit=120))
    assert not report.failures, report.render()


async def test_soak(cluster: Cluster) -> None:
    """200 sockets of both styles doing request/response for 10 s, 1 in 10 receiving broadcasts."""
    report = await run_soak(cluster, SoakConfig(sockets=200, seconds=10, interval=1.0))
    assert not report.failures, report.render()
