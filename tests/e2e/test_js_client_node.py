"""wsroute.js under Node (20 or newer) against a real daphne: a refused handshake is a close
(1006), not a client left "connecting" until its requests time out."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from typing import Any

import pytest

from tests.e2e.support import REPO, Cluster, Server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js 20 or newer"),
]

CLIENT = REPO / "src" / "wsroute_django" / "static" / "wsroute" / "wsroute.js"
SCRIPT = REPO / "tests" / "e2e" / "js" / "client_states.mjs"
#: bounds the whole script: far above its real duration, far below the request timeout it sets
NODE_TIMEOUT = 60.0


def node_command() -> list[str]:
    """``node``, with Node 20's flag for its built-in WebSocket (on by default from Node 22)."""
    probe = subprocess.run(["node", "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"], check=False)
    return ["node"] if probe.returncode == 0 else ["node", "--experimental-websocket"]


async def run_client(server: Server, path: str, scenario: str) -> list[dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        *node_command(),
        str(SCRIPT),
        CLIENT.as_uri(),
        server.url(path),
        scenario,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), NODE_TIMEOUT)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(f"the Node client never finished; it printed:\n{out.decode()}{err.decode()}") from None
    assert proc.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


async def test_a_refused_handshake_closes_the_client_and_rejects_its_requests(cluster: Cluster) -> None:
    server = await cluster.start("A")
    events = await run_client(server, "/no-such-socket/", "refused")  # daphne answers HTTP 500
    assert events == [
        {"state": "connecting", "attempt": 0},
        {"state": "closed", "code": 1006, "reason": "", "wasClean": False, "reconnectIn": None},
        {"rejected": "closed"},  # at once, not "timeout" after the request's 10 minutes
    ]


async def test_after_a_refused_handshake_the_client_retries(cluster: Cluster) -> None:
    server = await cluster.start("A")
    events = await run_client(server, "/no-such-socket/", "retry")
    states = [(event["state"], event.get("attempt"), event.get("code")) for event in events if "state" in event]
    assert states[:3] == [("connecting", 0, None), ("closed", None, 1006), ("connecting", 1, None)]
    assert events[-2:] == [
        {"state": "closed", "code": 1000, "reason": "", "wasClean": True, "reconnectIn": None},  # close() while waiting
        {"rejected": "closed"},
    ]


async def test_an_accepted_socket_opens_and_answers(cluster: Cluster) -> None:
    server = await cluster.start("A")
    events = await run_client(server, "/lobby/", "open")
    assert events[:3] == [{"state": "connecting", "attempt": 0}, {"state": "open"}, {"reply": "PONG"}]
    assert events[3]["state"] == "closed"
