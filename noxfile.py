"""Development sessions. `python run.py <session>` runs them without nox installed.

Sessions install only what they use: ``example`` the package alone (its runtime
dependencies), ``lint`` ruff, ``docs`` mkdocs-material, ``wheel`` the build tools. The test
sessions share one environment per interpreter (``.nox/_shared/test-<python>``, the ``test``
extra) and ``typecheck`` adds mypy to the same one, so the suite, the benchmarks, the stress
runs and the type check install it once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nox

nox.options.error_on_missing_interpreters = False
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]

ROOT = Path(__file__).resolve().parent
PYTHONS = ["3.11", "3.12", "3.13"]

# -- the supported versions ------------------------------------------------------------------
#: Python versions each Django release declares (Django 6.0 needs 3.12+; 4.2 declares up to 3.12)
DJANGO_PYTHONS = {"4.2": ["3.11", "3.12"], "5.2": ["3.11", "3.12", "3.13"], "6.0": ["3.12", "3.13"]}
#: Channels releases that declare each Django release (4.1: Django 4.2-5.0; 4.2: up to 5.2; 4.3: up to 6.0)
DJANGO_CHANNELS = {"4.2": ["4.1", "4.2", "4.3"], "5.2": ["4.2", "4.3"], "6.0": ["4.3"]}
#: the cells CI runs (the oldest and the newest combination); `python run.py compat` runs them all
COMPAT_CI = {("4.2", "3.11", "4.1"), ("6.0", "3.12", "4.3")}
COMPAT = [
    nox.param(
        python,
        django,
        channels,
        id=f"django{django}-py{python}-channels{channels}",
        tags=["compat-ci"] if (django, python, channels) in COMPAT_CI else [],
    )
    for django, pythons in DJANGO_PYTHONS.items()
    for python in pythons
    for channels in DJANGO_CHANNELS[django]
]


def shared_python(session: nox.Session, extras: str = "test") -> str:
    """The interpreter of the environment the test sessions share, with ``.[extras]`` installed
    (once per change of pyproject.toml)."""
    # run.py passes the interpreter it was started with as --force-python
    interpreter = session.python if isinstance(session.python, str) and session.python else sys.executable
    version = subprocess.run(
        [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    base = ROOT / ".nox" / "_shared" / f"test-{version}"
    python = base / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        session.run(interpreter, "-m", "venv", str(base), external=True)
    stamp = base / f".installed-{extras}"
    wanted = (ROOT / "pyproject.toml").read_text()
    if not stamp.exists() or stamp.read_text() != wanted:
        session.run(str(python), "-m", "pip", "install", "-q", "-e", f".[{extras}]", external=True)
        stamp.write_text(wanted)
    return str(python)


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The full test suite on this interpreter. Redis/PostgreSQL tests skip unless configured."""
    python = shared_python(session, "test,browser")
    session.run(python, "-m", "pytest", *session.posargs, external=True)


@nox.session(python=PYTHONS)
def tests_matrix(session: nox.Session) -> None:
    """The test suite on every supported Python that is installed."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", "-m", "not browser", *session.posargs)


@nox.session
@nox.parametrize(("python", "django", "channels"), COMPAT)
def compat(session: nox.Session, django: str, channels: str) -> None:
    """The test suite on one Django x Python x Channels combination (see docs/compatibility.md).

    ``python run.py compat`` runs every combination whose Python is installed;
    ``python run.py compat_ci`` the two CI runs. Arguments go to pytest.
    """
    session.install("-e", ".[test]", f"django~={django}.0", f"channels~={channels}.0")
    session.run("python", "-c", "import django, channels, sys; print('django', django.__version__, "
                "'channels', channels.__version__, 'python', sys.version.split()[0])")  # fmt: skip
    # everything but the browser and the multi-process tests (tests/e2e): the tutorial's test
    # still builds a project and serves it under daphne on this combination
    args = session.posargs or ["--ignore=tests/e2e", "--ignore=tests/browser"]
    session.run("pytest", "-q", "-p", "no:cacheprovider", *args)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(venv_backend="none")
def typecheck(session: nox.Session) -> None:
    python = shared_python(session, "test,typecheck")
    session.run(python, "-m", "mypy", external=True)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site into ``site/`` (strict: a broken link or include fails). ``--serve``
    serves it at http://127.0.0.1:8000 and rebuilds on changes; ``--serve 0.0.0.0:8080``
    picks the address."""
    # the pages include files (nothing is imported); the contract page renders with asyncapi-viewer
    session.install("mkdocs-material>=9.5", "asyncapi-viewer>=2.1")
    if session.posargs and session.posargs[0] == "--serve":
        address = session.posargs[1] if len(session.posargs) > 1 else "127.0.0.1:8000"
        session.run("mkdocs", "serve", "--strict", "--dev-addr", address)
        return
    session.run("mkdocs", "build", "--strict", "--site-dir", "site", *session.posargs)
    session.log(f"the site is in {Path('site').resolve()}; `python run.py docs --serve` serves it")


@nox.session
def wheel(session: nox.Session) -> None:
    """Build the sdist and wheel, ``twine check`` them, install the wheel into a clean virtual
    environment and serve the example from it over a real WebSocket."""
    session.install("build>=1.2", "twine>=5.1", "websockets>=13")
    session.run("python", "tests/packaging/check_wheel.py", *session.posargs)


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Benchmarks: ratios against baselines measured in the same run."""
    python = shared_python(session)
    for script in ("dispatch.py", "echo.py", "churn.py"):
        session.run(python, f"bench/{script}", *session.posargs, external=True)


@nox.session(venv_backend="none")
def stress(session: nox.Session) -> None:
    """Robustness runs at full size: 100,000 fuzzed frames, then 1,000 sockets for 60 s.

    SQLite and the in-memory layer by default; pass ``--database-url postgres://...`` and
    ``--redis-url redis://...`` to run on PostgreSQL and channels-redis. CI runs small versions
    of both in the test suite (tests/e2e/test_fuzz_soak.py).
    """
    python = shared_python(session)
    session.run(python, "bench/fuzz.py", *session.posargs, external=True)
    session.run(python, "bench/soak.py", *session.posargs, external=True)


@nox.session
def example(session: nox.Session) -> None:
    """Serve the example project at http://127.0.0.1:8000 (HTTP and WebSockets, daphne's runserver).

    Installs the package alone (its runtime dependencies, nothing for development), migrates
    example/db.sqlite3 and creates the demo users (demo/demo, demo2/demo2) first.
    Arguments go to ``manage.py runserver``: ``python run.py example 0.0.0.0:8000``.
    """
    session.install("-e", ".")
    session.chdir("example")
    session.run("python", "manage.py", "migrate", "--no-input")
    session.run("python", "manage.py", "demo_users")
    session.run("python", "manage.py", "runserver", *(session.posargs or ["127.0.0.1:8000"]))
