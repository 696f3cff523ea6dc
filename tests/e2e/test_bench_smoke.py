"""The benchmark scripts at tiny sizes: each must run to its end and print its table.

Not a measurement (the sizes are far too small for figures that mean anything): a check that
``bench/scale.py``, ``bench/echo.py``, ``bench/churn.py``, ``bench/fanout_stock.py`` and
``bench/sync_handlers.py`` still run against the current code, so a change that breaks one
shows here rather than on the next benchmark run. Each runs in a subprocess, as
``python bench/<name>.py`` runs it, for a few seconds.

``echo.py`` and ``churn.py`` have no size below ``--quick``: they run through their ``main()`` with
``--quick`` and their ``QUICK`` settings cut to one round (``rounds``, ``min_rounds`` and
``budget_s``, the round limits ``bench/_harness.py`` reads from every benchmark's settings).
churn runs on SQLite only (``--postgres-url ''``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BENCH = Path(__file__).resolve().parents[2] / "bench"
#: seconds one script may take (a few seconds are expected)
TIMEOUT = 300

ONE_ROUND = """
import dataclasses, sys
sys.path.insert(0, {bench!r})
import {module} as bench
bench.QUICK = dataclasses.replace(bench.QUICK, rounds=1, min_rounds=1, budget_s=0.0)
sys.exit(bench.main(sys.argv[1:]))
"""


def run(*args: str) -> str:
    """Run ``python <args>`` in bench/; return its output, after checking it exited 0 without an error."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "DJANGO_SETTINGS"))}
    done = subprocess.run(
        [sys.executable, *args],
        cwd=BENCH,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    output = f"{done.stdout}\n--- stderr ---\n{done.stderr}"
    assert done.returncode == 0, output
    assert "ERROR" not in done.stdout, output
    return done.stdout


def one_round(module: str, *args: str) -> str:
    return run("-c", ONE_ROUND.format(bench=str(BENCH), module=module), "--quick", *args)


def table_rows(output: str, header: str, names: tuple[str, ...]) -> None:
    """``output`` has a table whose header starts with ``header`` and a row per name in ``names``."""
    assert re.search(rf"^\s+{header}", output, re.MULTILINE), output
    for name in names:
        assert re.search(rf"^\s+{name}\s+\d", output, re.MULTILINE), f"no row for {name}:\n{output}"


def test_scale() -> None:
    """40 sockets per variant on uvicorn, 1 s of messages: idle memory, latency and the heartbeat timing."""
    output = run("scale.py", "--quick", "--sockets", "40", "--seconds", "1", "--servers", "uvicorn")
    variants = ("raw", "decorator", "subclass", "norows", "rows")
    table_rows(output, r"variant\s+open\s+conn/s\s+KiB/socket\s+vs raw", variants)
    assert re.search(r"^\s+raw\s+40\s", output, re.MULTILINE), output  # every socket opened
    assert "heartbeat (rows, SQLite): touch()" in output, output


def test_echo() -> None:
    """One round of every echo variant, on uvicorn and daphne."""
    output = one_round("echo")
    for server in ("uvicorn", "daphne"):
        assert re.search(rf"^{server} \S+: 1 rounds", output, re.MULTILINE), output
    table_rows(output, r"variant\s+msgs/s\s+vs raw", ("raw", "decorator", "subclass", "raw_nohop", "asgi"))
    assert "server CPU/msg vs the bare ASGI app" in output, output


def test_echo_pipelined() -> None:
    """One pipelined round (5 requests in flight per connection) on uvicorn."""
    output = one_round("echo", "--pipeline", "5", "--servers", "uvicorn")
    assert "(pipelined: 5 in flight)" in output, output
    table_rows(output, r"variant\s+msgs/s\s+vs raw", ("raw", "decorator", "subclass", "raw_nohop", "asgi"))


def test_fanout_against_stock() -> None:
    """One round of the 100-member fan-out, stock Channels and wsroute, on the in-memory layers."""
    output = one_round("fanout_stock", "--redis-url", "")
    for label in ("InMemoryChannelLayer stock", "InMemoryChannelLayer wsroute", "MemoryChannelLayer wsroute"):
        assert re.search(rf"^\s+{label}\s+[\d,]+\s", output, re.MULTILINE), output
    assert "wsroute on MemoryChannelLayer vs stock on InMemoryChannelLayer" in output, output


def test_churn() -> None:
    """One round of connect/disconnect churn with and without Socket rows, on SQLite."""
    output = one_round("churn", "--postgres-url", "")
    table_rows(output, r"variant\s+conns/s\s+vs raw", ("raw", "wsroute_norows", "wsroute_rows_sqlite"))


def test_sync_handlers() -> None:
    """10 sockets sending ORM reads through the shared thread and a pool of 2, on SQLite."""
    output = run(
        "sync_handlers.py",
        "--quick",
        "--runners",
        "shared,2",
        "--sockets",
        "20",
        "--counts",
        "10",
        "--queries",
        "read",
        "--postgres-url",
        "",
    )
    for runner in ("shared", "2"):
        assert re.search(rf"^\s+sqlite\s+{runner} read\s+10 sockets:\s+\d+ replies/s", output, re.MULTILINE), output
    assert re.search(r"errors\s+0\s", output), output


def test_topics_bench_runs() -> None:
    out = run("topics.py", "--layer", "memory", "--sockets", "20", "--rounds", "1", "--seconds", "0.2")
    assert re.search(r"queryset send to 20 sockets: until every socket has its frame", out), out
    assert re.search(r"ratio batched/each: median [\d.]+", out), out
    assert re.search(r"ratio wsroute/channels: median [\d.]+", out), out
