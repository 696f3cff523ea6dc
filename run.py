"""Run a development task with nothing but Python installed.

    python run.py tests       the full test suite
    python run.py example     the example
    python run.py lint | typecheck | bench
    python run.py docs [--serve]   build the site into site/, or serve it at http://127.0.0.1:8000
    python run.py wheel       build, twine-check, install the wheel in a clean venv, serve the example
    python run.py compat      the suite on every Django x Python x Channels combination (compat_ci: CI's two)

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
    env = None
    if session in MATRIX_SESSIONS:  # each of these picks its own interpreters
        command = [str(nox), "-f", str(ROOT / "noxfile.py"), *MATRIX_SESSIONS[session]]
        env = {**os.environ, "PATH": os.pathsep.join([*pyenv_bins(), os.environ.get("PATH", "")])}
    if rest:
        command += ["--", *rest]
    return subprocess.run(command, cwd=ROOT, env=env).returncode


#: sessions over several interpreters: their nox selection
MATRIX_SESSIONS = {
    "tests_matrix": ["-s", "tests_matrix"],
    "compat": ["-s", "compat"],  # every Django x Python x Channels combination
    "compat_ci": ["-t", "compat-ci", "--error-on-missing-interpreters"],  # the combinations CI runs
}


def pyenv_bins() -> list[str]:
    """pyenv's interpreters (newest patch release of each minor version), so that nox finds
    ``python3.12`` and ``python3.13`` when pyenv's shims only serve its global version."""
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        root = str(Path.home() / ".pyenv")
    newest: dict[str, tuple[tuple[int, ...], Path]] = {}
    for bindir in Path(root, "versions").glob("3.*/bin"):
        parts = bindir.parent.name.split(".")
        if len(parts) == 3 and all(part.isdigit() for part in parts):
            version = tuple(int(part) for part in parts)
            minor = ".".join(parts[:2])
            if minor not in newest or newest[minor][0] < version:
                newest[minor] = (version, bindir)
    return [str(bindir) for _, bindir in sorted(newest.values(), reverse=True)]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
