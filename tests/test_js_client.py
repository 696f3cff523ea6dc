"""wsroute.js's unit tests (``tests/js/*.test.mjs``, Node's built-in runner) against scripted servers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js 20 or later")
def test_wsroute_js_unit_tests_pass() -> None:
    done = subprocess.run(
        ["node", "--test", *sorted(str(path) for path in (ROOT / "tests" / "js").glob("*.test.mjs"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout, done.stdout
