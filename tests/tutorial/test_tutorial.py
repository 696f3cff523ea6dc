"""docs/tutorial.md, followed as written: a fresh ``startproject``, the page's files copied in
order, its commands run, and each step's result driven over real WebSockets under daphne."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import re
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.tutorial.project import TutorialProject, ask, receive

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery"


async def closed_with(ws: ClientConnection, code: int) -> None:
    with pytest.raises(ConnectionClosed) as closed:
        await receive(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


async def test_the_tutorial_builds_and_runs_as_written(tmp_path: Path) -> None:
    project = TutorialProject(tmp_path / "tutorial")

    # 1. A project: settings, `check` without warnings, `migrate` before any socket
    project.start()
    project.apply(1)
    assert "System check identified no issues (0 silenced)." in project.manage("check")
    project.manage("migrate", "--no-input")

    # 2. A first consumer, served by plain daphne: wsroute.js is served too
    project.apply(2)
    async with project.serve() as server:
        status, body = await server.get("/static/wsroute/wsroute.js")
        assert status == 200 and "export function connect" in body
        ws = await server.socket("/ws/chat/lobby/")
        assert await ask(ws, {"event": "say", "text": "hi"}) == {"event": "message", "text": "hi"}
        error = await ask(ws, {"event": "shout"})
        assert (error["event"], error["code"]) == ("error", "unknown_type")
        assert await ask(ws, {"event": "say", "text": "still open"}) == {"event": "message", "text": "still open"}
        await ws.close()
        # a script without the Origin header a browser sends: refused by the origin check
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"ws://127.0.0.1:{server.port}/ws/chat/lobby/", open_timeout=10)
        assert refused.value.response.status_code == 403

    # 3. A name for everyone
    project.apply(3)
    async with project.serve() as server:
        nameless = await server.socket("/ws/chat/lobby/")
        await closed_with(nameless, 4403)
        ada = await server.socket("/ws/chat/lobby/?name=ada")
        assert await ask(ada, {"event": "say", "text": "hi"}) == {"event": "message", "name": "ada", "text": "hi"}
        await ada.close()

    # 4. Validated messages, and a reply
    project.apply(4)
    async with project.serve() as server:
        ada = await server.socket("/ws/chat/lobby/?name=ada")
        invalid = await ask(ada, {"event": "say", "text": "   ", "ref": 1})
        assert (invalid["event"], invalid["code"], invalid["ref"]) == ("error", "validation_error", 1)
        await ada.send(json.dumps({"event": "say", "text": "hi", "ref": 2}))
        frames = [await receive(ada), await receive(ada)]  # the broadcast and the reply, in either order
        assert {"event": "message", "name": "ada", "text": "hi"} in frames
        assert {"event": "sent", "ref": 2} in frames
        await ada.close()

    # 5. Who is here: a model of our own, its migration, the whole consumer
    project.apply(5)
    project.manage("makemigrations", "chat")
    project.manage("migrate", "--no-input")
    async with project.serve() as server:
        ada = await server.socket("/ws/chat/lobby/?name=ada")
        assert await receive(ada) == {"event": "joined", "name": "ada"}
        assert await receive(ada) == {"event": "who", "names": ["ada"]}
        bob = await server.socket("/ws/chat/lobby/?name=bob")
        assert await receive(ada) == {"event": "joined", "name": "bob"}
        assert await receive(ada) == {"event": "who", "names": ["ada", "bob"]}
        await bob.close()
        assert await receive(ada) == {"event": "left", "name": "bob"}
        assert await receive(ada) == {"event": "who", "names": ["ada"]}
        await ada.close()

    # 6. The page
    project.apply(6)
    assert "System check identified no issues (0 silenced)." in project.manage("check")
    async with project.serve() as server:
        status, page = await server.get("/chat/lobby/?name=ada")
        assert status == 200
        assert 'id="log"' in page and 'id="who"' in page and "/static/wsroute/wsroute.js" in page
        assert '"/ws/chat/lobby/?name=ada"' in page  # the socket URL, for the page's script
        status, page = await server.get("/")  # redirected to the room picker
        assert status == 200 and 'name="room"' in page

    # 7. Logged-in users: a user of our own, Django's login page, the session on the socket
    project.apply(7)
    project.manage(
        "createsuperuser", "--no-input", "--username", "ada", "--email", "ada@example.com",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )  # fmt: skip
    async with project.serve() as server:
        cookies = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
        status, form = await server.get("/accounts/login/", browser)
        assert status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        assert token is not None
        fields = {"username": "ada", "password": PASSWORD, "csrfmiddlewaretoken": token[1], "next": ""}

        def log_in() -> str:
            request = urllib.request.Request(
                server.origin + "/accounts/login/", data=urllib.parse.urlencode(fields).encode(), method="POST"
            )
            with browser.open(request, timeout=10) as response:
                return str(response.url)

        assert (await asyncio.to_thread(log_in)).endswith("/chat/")  # LOGIN_REDIRECT_URL
        session = next(cookie.value for cookie in cookies if cookie.name == "sessionid")
        ada = await server.socket("/ws/chat/lobby/", cookie=f"sessionid={session}")  # no ?name=
        assert await receive(ada) == {"event": "joined", "name": "ada"}
        await ada.close()


@pytest.mark.postgres
@pytest.mark.redis
async def test_step_8_two_processes_share_postgresql_and_redis(tmp_path: Path) -> None:
    database_url = os.environ.get("WSROUTE_TEST_DATABASE_URL")
    redis_url = os.environ.get("WSROUTE_TEST_REDIS_URL")
    assert database_url and redis_url  # the postgres and redis markers skip the test without them
    name = f"wsroute_tutorial_{uuid.uuid4().hex[:8]}"
    server_url = urllib.parse.urlsplit(database_url)
    admin = server_url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as pg:
        pg.execute(f'CREATE DATABASE "{name}"')  # the page's `createdb wsroute_tutorial`
    try:
        env = {"DATABASE_URL": server_url._replace(path=f"/{name}").geturl(), "REDIS_URL": redis_url}
        project = TutorialProject(tmp_path / "tutorial", **env)
        project.start()
        for step in range(1, 9):
            project.apply(step)
        project.manage("makemigrations", "chat")
        assert "System check identified no issues (0 silenced)." in project.manage("check")
        vendor = project.manage("shell", "-c", "from django.db import connection; print(connection.vendor)")
        assert vendor.strip().splitlines()[-1] == "postgresql"  # Django 5.2+ first says what it imported
        project.manage("migrate", "--no-input")
        async with project.serve() as first, project.serve() as second:
            ada = await first.socket("/ws/chat/lobby/?name=ada")
            assert await receive(ada) == {"event": "joined", "name": "ada"}
            assert await receive(ada) == {"event": "who", "names": ["ada"]}
            bob = await second.socket("/ws/chat/lobby/?name=bob")
            assert await receive(ada) == {"event": "joined", "name": "bob"}
            assert await receive(ada) == {"event": "who", "names": ["ada", "bob"]}  # rows from both processes
            await bob.send(json.dumps({"event": "say", "text": "across"}))
            assert await receive(ada) == {"event": "message", "name": "bob", "text": "across"}
            await bob.close()
            await ada.close()
    finally:
        with psycopg.connect(admin, autocommit=True) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
