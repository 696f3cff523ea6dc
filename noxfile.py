"""Development sessions. `python run.py <session>` runs them without nox installed."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.error_on_missing_interpreters = False
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]

PYTHONS = ["3.11", "3.12", "3.13"]


def install_dev(session: nox.Session) -> None:
    session.install("-e", ".[dev]")


@nox.session
def tests(session: nox.Session) -> None:
    """The full test suite on this interpreter. Redis/PostgreSQL tests skip unless configured."""
    install_dev(session)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHONS)
def tests_matrix(session: nox.Session) -> None:
    """The test suite on every supported Python that is installed."""
    install_dev(session)
    session.run("pytest", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    install_dev(session)
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site into ``site/`` (strict: a broken link or include fails). ``--serve``
    serves it at http://127.0.0.1:8000 and rebuilds on changes; ``--serve 0.0.0.0:8080``
    picks the address."""
    session.install("mkdocs-material>=9.5")  # the pages include files; nothing is imported
    if session.posargs and session.posargs[0] == "--serve":
        address = session.posargs[1] if len(session.posargs) > 1 else "127.0.0.1:8000"
        session.run("mkdocs", "serve", "--strict", "--dev-addr", address)
        return
    session.run("mkdocs", "build", "--strict", "--site-dir", "site", *session.posargs)
    session.log(f"the site is in {Path('site').resolve()}; `python run.py docs --serve` serves it")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: ratios against baselines measured in the same run."""
    install_dev(session)
    session.run("python", "bench/dispatch.py", *session.posargs)
    session.run("python", "bench/echo.py", *session.posargs)
    session.run("python", "bench/churn.py", *session.posargs)


@nox.session
def stress(session: nox.Session) -> None:
    """Robustness runs at full size: 100,000 fuzzed frames, then 1,000 sockets for 60 s.

    SQLite and the in-memory layer by default; pass ``--database-url postgres://...`` and
    ``--redis-url redis://...`` to run on PostgreSQL and channels-redis. CI runs small versions
    of both in the test suite (tests/e2e/test_fuzz_soak.py).
    """
    install_dev(session)
    session.run("python", "bench/fuzz.py", *session.posargs)
    session.run("python", "bench/soak.py", *session.posargs)


@nox.session
def example(session: nox.Session) -> None:
    """Serve the example project at http://127.0.0.1:8000 (HTTP and WebSockets, daphne's runserver).

    Migrates example/db.sqlite3 and creates the demo users (demo/demo, demo2/demo2) first.
    Arguments go to ``manage.py runserver``: ``python run.py example 0.0.0.0:8000``.
    """
    install_dev(session)
    session.chdir("example")
    session.run("python", "manage.py", "migrate", "--no-input")
    session.run("python", "manage.py", "demo_users")
    session.run("python", "manage.py", "runserver", *(session.posargs or ["127.0.0.1:8000"]))
