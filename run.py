"""Run a development task with nothing but Python installed.

    python run.py tests       the full test suite
    python run.py example     the example
    python run.py lint | typecheck | bench
    python run.py docs [--serve]   build the site into site/, or serve it at http://127.0.0.1:8000

It keeps nox in a private virtual environment (.venv-tools) and hands the task to the
session of the same name in noxfile.py, which installs what that session needs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".venv-tools"


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036  # run.py itself may be started by an older Python
        sys.exit(f"wsroute needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    bindir = TOOLS / ("Scripts" if os.name == "nt" else "bin")
    nox = bindir / "nox"
    if not nox.exists():
        print("run.py: installing nox into .venv-tools ...", flush=True)
        venv.create(TOOLS, with_pip=True)
        subprocess.run([bindir / "python", "-m", "pip", "install", "-q", "nox>=2024.4"], check=True)
    session, *rest = argv
    command = [str(nox), "-f", str(ROOT / "noxfile.py"), "-s", session, "--force-python", sys.executable]
    if session == "tests_matrix":
        command = command[:-2]
    if rest:
        command += ["--", *rest]
    return subprocess.run(command, cwd=ROOT).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
