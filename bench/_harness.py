"""What the benchmarks share: server subprocesses, CPU and RSS sampling, samples and the report header.

``echo.py``, ``churn.py`` and ``scale.py`` import from here (``_stress.py`` only ``rss_bytes``); each
keeps its own scenario, settings and report table.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.metadata
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol

BENCH_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"

#: seconds a server gets to accept connections after it is started
START_TIMEOUT_S = 30.0
#: seconds a server gets to exit after SIGTERM before it is killed
STOP_TIMEOUT_S = 5.0
#: seconds one variant's part of a round (or the warm-up) may take before the server is given up
ROUND_TIMEOUT_S = 30.0
#: attempts to start a server, each on a fresh free port (another process may take the port)
START_ATTEMPTS = 3


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.25):
            return True
    except OSError:
        return False


class ServerError(RuntimeError):
    pass


def die_with_parent() -> None:
    """In the server child (Linux): SIGTERM it if this process dies, even by SIGKILL."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Server:
    """One ASGI server subprocess on a free loopback port; subclasses say which command runs."""

    def __init__(self, name: str, layer: str, log_dir: Path, profile_dir: Path | None) -> None:
        self.name = name
        self.layer = layer
        self.log_path = log_dir / f"{name}.log"
        self.profile_dir = profile_dir
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The server's command line for ``self.port``."""
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """The server's environment: this one's, without DJANGO_SETTINGS_MODULE, bench/ importable."""
        env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(BENCH_DIR), env.get("PYTHONPATH"))))
        return env

    def start(self) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            self.port = free_port()
            command = self.command()
            if self.profile_dir is not None:
                command[1:1] = ["-m", "cProfile", "-o", str(self.profile_dir / f"{self.name}.prof")]
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    command,
                    cwd=BENCH_DIR,
                    env=self.environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a terminal's Ctrl-C reaches us; we stop the server
                    preexec_fn=die_with_parent if sys.platform == "linux" else None,
                )
            deadline = time.monotonic() + START_TIMEOUT_S
            while self.process.poll() is None and time.monotonic() < deadline:
                if accepts(self.port):
                    return
                time.sleep(0.05)  # poll interval, not a readiness guess
            exited = self.process.poll() is not None  # (maybe another process took the port: retry)
            self.stop()
            if not exited or attempt == START_ATTEMPTS:
                state = f"exited ({self.process.returncode})" if exited else f"timed out after {START_TIMEOUT_S:.0f} s"
                raise ServerError(f"{self.name} {state} before accepting connections:\n{self.log_tail()}")

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        # SIGINT first under cProfile: uvicorn re-raises SIGTERM after its shutdown, which would
        # end the process before cProfile writes its file; KeyboardInterrupt lets it write.
        signals = (signal.SIGINT, signal.SIGTERM) if self.profile_dir is not None else (signal.SIGTERM,)
        for signum in signals:
            process.send_signal(signum)
            try:
                process.wait(STOP_TIMEOUT_S)
                return
            except subprocess.TimeoutExpired:
                pass
        process.kill()
        process.wait(STOP_TIMEOUT_S)

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process (all threads) so far; None off Linux."""
        if self.process is None or CLOCK_TICKS is None:
            return None
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is field 3 of stat(5)
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14, 15

    def rss_bytes(self) -> int | None:
        """Resident set size of the server process now; None off Linux or once it exited."""
        return None if self.process is None else rss_bytes(self.process.pid)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "  (no server log)"
        return "\n".join(f"  | {line}" for line in text.splitlines()[-lines:]) or "  (empty server log)"


def _clock_ticks() -> int | None:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (AttributeError, ValueError, OSError):
        return None


CLOCK_TICKS = _clock_ticks()


def rss_bytes(pid: int) -> int | None:
    """The resident set size of process ``pid`` (Linux, from /proc), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


@dataclass
class Samples:
    rates: list[float] = field(default_factory=list)  # msgs/s, one per round
    messages: int = 0
    wall_s: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float | None = 0.0
    mismatches: int = 0


@dataclass(frozen=True)
class Sample:
    """One variant's part of one round."""

    messages: int
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float | None
    mismatches: int

    def add_to(self, samples: Samples) -> None:
        samples.rates.append(self.messages / self.wall_s)
        samples.messages += self.messages
        samples.wall_s += self.wall_s
        samples.client_cpu_s += self.client_cpu_s
        if samples.server_cpu_s is not None and self.server_cpu_s is not None:
            samples.server_cpu_s += self.server_cpu_s
        else:
            samples.server_cpu_s = None
        samples.mismatches += self.mismatches


class Measuring:
    """The task measuring now, so SIGTERM can cancel it as asyncio.run's Ctrl-C handler does."""

    task: asyncio.Task[None] | None = None
    interrupted = False


def on_sigterm(signum: int, frame: FrameType | None) -> None:
    task = Measuring.task
    if task is None or task.done():
        raise KeyboardInterrupt  # not on the event loop: unwinds through ``running`` at once
    Measuring.interrupted = True
    task.get_loop().call_soon_threadsafe(task.cancel)  # wakes the loop; the task unwinds cleanly


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def cpu_per_message(samples: Samples) -> float | None:
    """Server CPU seconds per message over all rounds (None where /proc is not available)."""
    if samples.server_cpu_s is None or not samples.messages:
        return None
    return samples.server_cpu_s / samples.messages


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio >= target else "MISS"


class RoundLimits(Protocol):
    @property
    def rounds(self) -> int: ...
    @property
    def budget_s(self) -> float: ...
    @property
    def min_rounds(self) -> int: ...


def start_report(title: str, settings: RoundLimits, profile: Path | None, *versions: str) -> Path | None:
    """Prepare the profile directory, stop servers on SIGTERM, and print the run's header."""
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        profile = profile.resolve()
    signal.signal(signal.SIGTERM, on_sigterm)
    print(
        f"{title}: up to {settings.rounds} interleaved rounds or ~{settings.budget_s:.0f} s per server, "
        f"at least {settings.min_rounds})"
    )
    print(
        f"Python {platform.python_version()}, channels {package_version('channels')}, "
        f"django {package_version('django')}, websockets {package_version('websockets')} (client), "
        + "".join(f"{version}, " for version in versions)
        + f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}"
    )
    return profile
