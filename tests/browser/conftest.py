"""Fixtures for the browser tests: the example project under a real daphne, and headless Chromium.

Every wait is bounded: server start-up by ``START_TIMEOUT``, every Playwright wait and
``expect`` by ``TIMEOUT_MS`` unless a test passes its own.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "example"
RESULTS = REPO / "test-results" / "browser"
CHROMIUM = Path(os.environ.get("WSROUTE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

START_TIMEOUT = 30.0  # seconds for daphne to answer HTTP
COMMAND_TIMEOUT = 120.0  # seconds for migrate and demo_users
TIMEOUT_MS = 10_000  # every Playwright wait and expect


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ExampleServer:
    """``python -m daphne project.asgi:application`` in ``example/``, on a fixed port across restarts."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "project.asgi:application"],
                cwd=EXAMPLE,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def _wait_ready(self) -> None:
        """Poll until the server serves wsroute.js; fail after ``START_TIMEOUT`` seconds."""
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"daphne exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/static/wsroute/wsroute.js", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"daphne did not answer on port {self.port} within {START_TIMEOUT} s:\n{self.log()}"
                )
            time.sleep(0.05)  # the poll interval, not a synchronisation


@pytest.fixture(scope="session")
def example_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The servers' environment: a fresh SQLite file, migrated, with the demo users; in-memory layer."""
    db = tmp_path_factory.mktemp("browser-db") / "db.sqlite3"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "REDIS_URL", "DATABASE_URL"} and not key.startswith("PYTEST_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DATABASE_URL=f"sqlite:///{db}",  # sqlite:////tmp/...: an absolute path
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    for command in (["migrate", "--no-input", "-v", "0"], ["demo_users"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=EXAMPLE, env=env, check=True, timeout=COMMAND_TIMEOUT
        )
    return env


@pytest.fixture
def server(example_env: dict[str, str], tmp_path: Path) -> Iterator[ExampleServer]:
    """The example served by daphne on a free port; stopped after the test."""
    server = ExampleServer(example_env, free_port(), tmp_path / "daphne.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Chromium, started per test.

    Per test, not per session: Playwright's sync API runs an event loop in this thread while
    it is started, and pytest-asyncio cannot run async fixtures (autouse ones included) while
    that loop is running. Started after them, it is stopped before their teardown.
    """
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


def screenshot_path(request: pytest.FixtureRequest, label: str) -> Path:
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    return RESULTS / f"{name}-{label}.png"


@pytest.fixture
def open_page(
    browser: Browser, server: ExampleServer, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Page]]:
    """``open_page(label)``: a page in a browser context of its own (its own cookies, so its own
    session), on the server's base URL. Open pages are screenshotted to
    ``test-results/browser/<test>-<label>.png`` when the test ends, pass or fail; uncaught
    JavaScript errors fail the test."""
    pages: dict[str, Page] = {}
    errors: list[str] = []

    def open_(label: str) -> Page:
        context = browser.new_context(base_url=server.url, viewport={"width": 900, "height": 640})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{label}: {error}"))
        pages[label] = page
        return page

    yield open_
    RESULTS.mkdir(parents=True, exist_ok=True)
    for label, page in pages.items():
        if not page.is_closed():
            page.screenshot(path=screenshot_path(request, label), full_page=True)
        page.context.close()
    assert not errors, f"uncaught JavaScript errors: {errors}"
