"""Build the sdist and wheel, check them, and run the example from the wheel alone.

    python tests/packaging/check_wheel.py [--dist DIR]

1. ``python -m build`` (sdist and wheel) and ``twine check --strict``;
2. a clean virtual environment with nothing but the wheel and its dependencies from the
   package index (no source tree on the path);
3. the example project, copied out of the repository, migrated and served by daphne from that
   environment, and driven over a real WebSocket: the static ``wsroute.js``, the migrations
   and both packages must all come from the wheel.

Run by ``python run.py wheel`` (and so by CI). Needs ``build``, ``twine`` and ``websockets``
where it runs; exits non-zero, saying why, on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import venv
from pathlib import Path

from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 10.0  # seconds for each frame and request
START_TIMEOUT = 60.0  # seconds for daphne to answer


def run(*args: str | Path, cwd: Path = REPO, env: dict[str, str] | None = None) -> str:
    print("+", " ".join(map(str, args)), flush=True)
    done = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False
    )
    output = done.stdout.decode(errors="replace")
    if done.returncode != 0:
        sys.exit(f"check_wheel: {args[0]} ... failed ({done.returncode}):\n{output}")
    return output


def clean_env() -> dict[str, str]:
    """This environment without anything that would put the source tree or another venv in play."""
    dropped = {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV", "DATABASE_URL", "REDIS_URL", "PYTHONHOME"}
    return {key: value for key, value in os.environ.items() if key not in dropped and not key.startswith("PYTEST_")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def build(dist: Path) -> Path:
    run(sys.executable, "-m", "build", "--outdir", dist, REPO)
    wheels = sorted(dist.glob("wsroute-*.whl"))
    sdists = sorted(dist.glob("wsroute-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        sys.exit(f"check_wheel: expected one wheel and one sdist in {dist}, got {wheels + sdists}")
    run(sys.executable, "-m", "twine", "check", "--strict", *wheels, *sdists)
    return wheels[0]


def install(wheel: Path, where: Path) -> Path:
    """A clean venv with the wheel; its Python."""
    venv.create(where, with_pip=True)
    python = where / ("Scripts" if os.name == "nt" else "bin") / "python"
    run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, env=clean_env())
    probe = (
        "import json, importlib.metadata as m, pathlib, wsroute, wsroute_django;"
        "root = pathlib.Path(wsroute_django.__file__).parent;"
        "print(json.dumps({'core': wsroute.__file__, 'django': wsroute_django.__file__,"
        " 'version': wsroute.__version__, 'metadata': m.version('wsroute'),"
        " 'js': (root / 'static/wsroute/wsroute.js').is_file(),"
        " 'migration': (root / 'migrations/0001_initial.py').is_file(), 'typed': (root / 'py.typed').is_file()}))"
    )
    facts = json.loads(run(python, "-c", probe, cwd=where, env=clean_env()).strip().splitlines()[-1])
    print("check_wheel: installed", facts, flush=True)
    for name in ("core", "django"):
        if not Path(facts[name]).resolve().is_relative_to(where.resolve()):
            sys.exit(f"check_wheel: {name} package imported from {facts[name]}, not from the clean venv")
    if facts["version"] != facts["metadata"]:
        sys.exit(f"check_wheel: wsroute.__version__ {facts['version']} != metadata {facts['metadata']}")
    if not (facts["js"] and facts["migration"] and facts["typed"]):
        sys.exit(f"check_wheel: the wheel lacks wsroute.js, the migrations or py.typed: {facts}")
    return python


async def drive(port: int) -> None:
    """The example's chat, over a real WebSocket, as a page of the site would open it."""
    origin = f"http://127.0.0.1:{port}"

    def static() -> bytes:
        with urllib.request.urlopen(f"{origin}/static/wsroute/wsroute.js", timeout=TIMEOUT) as response:
            return bytes(response.read())

    served = await asyncio.to_thread(static)
    shipped = (REPO / "src" / "wsroute_django" / "static" / "wsroute" / "wsroute.js").read_bytes()
    if served != shipped:
        sys.exit("check_wheel: the served wsroute.js is not the one in the source tree")
    async with connect(f"ws://127.0.0.1:{port}/ws/chat/wheel/?name=ci", origin=origin, open_timeout=TIMEOUT) as ws:  # type: ignore[arg-type]

        async def receive() -> dict[str, object]:
            frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            assert isinstance(frame, dict), frame
            return frame

        frames = [await receive(), await receive()]
        await ws.send(json.dumps({"event": "say", "text": "from the wheel", "ref": 1}))
        frames += [await receive(), await receive()]
    expected = [
        {"event": "joined", "name": "ci"},
        {"event": "who", "names": ["ci"]},
        {"event": "message", "name": "ci", "text": "from the wheel"},
        {"event": "sent", "ref": 1},
    ]
    if sorted(map(json.dumps, frames)) != sorted(map(json.dumps, expected)):
        sys.exit(f"check_wheel: the example's chat answered {frames}, expected {expected}")


def serve_example(python: Path, workdir: Path) -> None:
    example = workdir / "example"
    shutil.copytree(REPO / "example", example, ignore=shutil.ignore_patterns("db.sqlite3", "__pycache__"))
    env = {**clean_env(), "DATABASE_URL": f"sqlite:///{workdir / 'example.sqlite3'}", "PYTHONUNBUFFERED": "1"}
    run(python, "manage.py", "check", "--fail-level", "WARNING", cwd=example, env=env)
    run(python, "manage.py", "migrate", "--no-input", "-v", "0", cwd=example, env=env)
    port = free_port()
    log_path = workdir / "daphne.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(python), "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "project.asgi:application"],
            cwd=example,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if server.poll() is not None:
                sys.exit(f"check_wheel: daphne exited with {server.returncode}:\n{log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"check_wheel: daphne did not listen within {START_TIMEOUT} s")
                time.sleep(0.1)  # the poll interval
        asyncio.run(drive(port))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()  # daphne may wait for its consumers' close timeout
            server.wait(timeout=10)
    print("check_wheel: the example served a socket from the wheel", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, help="where to put the built files (default: a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wsroute-wheel-") as tmp:
        workdir = Path(tmp)
        wheel = build((args.dist or workdir / "dist").resolve())
        python = install(wheel, workdir / "venv")
        serve_example(python, workdir)


if __name__ == "__main__":
    main()
