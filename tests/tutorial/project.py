"""The tutorial's project, built in a temporary directory from the files docs/tutorial.md shows.

Each step copies or appends the same files, from ``docs/src/tutorial``, that the page renders,
into a project made by ``startproject`` and ``startapp``, and runs the same ``manage.py``
commands; the project is then served by a real daphne process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "docs" / "src" / "tutorial"

#: every wait is bounded by one of these (seconds)
COMMAND_TIMEOUT = 120.0
START_TIMEOUT = 30.0
RECV_TIMEOUT = 10.0

#: what each step copies (source under docs/src/tutorial -> path in the project) or appends
STEPS: dict[int, list[tuple[str, str, str]]] = {
    1: [("append", "settings_step1.py", "mysite/settings.py"), ("copy", "mysite/urls_step1.py", "mysite/urls.py")],
    2: [("copy", "mysite/asgi.py", "mysite/asgi.py"), ("copy", "chat/consumers_step2.py", "chat/consumers.py")],
    3: [("copy", "chat/consumers_step3.py", "chat/consumers.py")],
    4: [("copy", "chat/consumers_step4.py", "chat/consumers.py")],
    5: [
        ("copy", "chat/models.py", "chat/models.py"),
        ("copy", "chat/receivers.py", "chat/receivers.py"),
        ("copy", "chat/apps.py", "chat/apps.py"),
        ("copy", "chat/consumers.py", "chat/consumers.py"),
    ],
    6: [
        ("copy", "chat/views.py", "chat/views.py"),
        ("copy", "chat/urls.py", "chat/urls.py"),
        ("copy", "mysite/urls.py", "mysite/urls.py"),
        ("copy", "chat/templates/base.html", "chat/templates/base.html"),
        ("copy", "chat/templates/chat/index.html", "chat/templates/chat/index.html"),
        ("copy", "chat/templates/chat/room.html", "chat/templates/chat/room.html"),
    ],
    7: [
        ("append", "settings_step7.py", "mysite/settings.py"),
        ("copy", "chat/templates/registration/login.html", "chat/templates/registration/login.html"),
    ],
    8: [("append", "settings_step8.py", "mysite/settings.py")],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TutorialProject:
    def __init__(self, root: Path, **environ: str) -> None:
        self.root = root
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"} and not key.startswith("PYTEST_")
        }
        # wsroute from this checkout, as `pip install -e .` would give it
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        self.env = {**env, **environ}

    def run(self, *args: str, **extra_env: str) -> str:
        """Run a command in the project directory; return its output (stdout and stderr)."""
        done = subprocess.run(
            args,
            cwd=self.root,
            env={**self.env, **extra_env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        output = done.stdout.decode(errors="replace")
        assert done.returncode == 0, f"{' '.join(args)} failed ({done.returncode}):\n{output}"
        return output

    def manage(self, *args: str, **extra_env: str) -> str:
        return self.run(sys.executable, "manage.py", *args, **extra_env)

    def start(self) -> None:
        """``django-admin startproject mysite .`` and ``python manage.py startapp chat``."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.run(sys.executable, "-m", "django", "startproject", "mysite", ".")
        self.manage("startapp", "chat")

    def apply(self, step: int) -> None:
        """Copy and append what ``step`` of the tutorial shows."""
        for action, source, target in STEPS[step]:
            destination = self.root / target
            destination.parent.mkdir(parents=True, exist_ok=True)
            if action == "copy":
                shutil.copyfile(SOURCES / source, destination)
            else:
                with destination.open("a") as out:
                    out.write("\n" + (SOURCES / source).read_text())

    @contextlib.asynccontextmanager
    async def serve(self, **extra_env: str) -> AsyncIterator[Server]:
        """``daphne mysite.asgi:application`` on a free port, stopped afterwards."""
        port = free_port()
        log_path = self.root / f"daphne-{port}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(  # noqa: ASYNC220  # returns at once: the server runs on
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "mysite.asgi:application"],
                cwd=self.root,
                env={**self.env, **extra_env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = Server(port, proc, log_path)
        try:
            await server.wait_ready()
            yield server
        finally:
            server.stop()


class Server:
    def __init__(self, port: int, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        self.port = port
        self.proc = proc
        self.log_path = log_path
        self.origin = f"http://127.0.0.1:{port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"daphne exited with {self.proc.returncode}:\n{self.log()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"daphne did not listen within {START_TIMEOUT} s:\n{self.log()}") from None
                await asyncio.sleep(0.05)  # the poll interval, not a synchronisation
                continue
            writer.close()
            await writer.wait_closed()
            return

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    async def get(self, path: str, opener: urllib.request.OpenerDirector | None = None) -> tuple[int, str]:
        """GET ``path``; the status and the body."""

        def fetch() -> tuple[int, str]:
            open_ = (opener or urllib.request.build_opener()).open
            try:
                with open_(self.origin + path, timeout=RECV_TIMEOUT) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as error:
                return error.code, error.read().decode(errors="replace")

        return await asyncio.to_thread(fetch)

    async def socket(self, path: str, cookie: str | None = None) -> ClientConnection:
        """A WebSocket client sending this site's ``Origin``, as a page of the site would."""
        return await connect(
            f"ws://127.0.0.1:{self.port}{path}",
            origin=self.origin,  # type: ignore[arg-type]  # websockets.typing.Origin is a NewType of str
            additional_headers={"Cookie": cookie} if cookie else None,
            open_timeout=RECV_TIMEOUT,
            close_timeout=5,
        )


async def receive(ws: ClientConnection) -> dict[str, Any]:
    frame = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT))
    assert isinstance(frame, dict), frame
    return frame


async def ask(ws: ClientConnection, frame: Mapping[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(frame))
    return await receive(ws)
