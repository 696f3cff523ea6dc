"""example/core_demo.py, the core driven by a transport of its own, runs as shipped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "example"


def test_the_core_demo_runs_and_answers_as_it_says() -> None:
    result = subprocess.run(
        [sys.executable, "core_demo.py"], cwd=EXAMPLE, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert '  <- {"type": "ERROR", "code": "bad_json", "detail": "frame is not valid JSON"}' in result.stdout
    assert '  <- {"type": "ACTION", "action": "fold"}' in result.stdout
