"""The example project in a real browser: wsroute.js against daphne, both consumer styles.

Needs the ``playwright`` Python package and Chromium at /usr/bin/chromium (or
``WSROUTE_CHROMIUM``); without them the tests are skipped with the reason (tests/conftest.py),
except in CI, which requires them. No browser is downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import ExampleServer, screenshot_path

pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright: pip install playwright")

from playwright.sync_api import Page, WebSocket, expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

OpenPage = Callable[[str], Page]

RECONNECT_TIMEOUT_MS = 30_000  # backoff: 0.25 s doubling per failed attempt, with jitter


def chat(page: Page, room: str, name: str) -> Page:
    page.goto(f"/chat/{room}/?name={name}")
    expect(page.locator("#status")).to_have_attribute("data-state", "open")
    return page


def say(page: Page, text: str) -> None:
    page.locator("#say input[name=text]").fill(text)
    page.locator("#say button").click()


def log_in(page: Page, username: str) -> Page:
    page.goto("/accounts/login/?next=/table/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(username)  # the demo users' password is their name
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url("/table/")
    expect(page.locator("#status")).to_have_attribute("data-state", "open")
    return page


def cell(page: Page, index: int) -> Any:
    return page.locator(f'#board button[data-cell="{index}"]')


def test_two_pages_chat_in_one_room(open_page: OpenPage, request: pytest.FixtureRequest) -> None:
    ada = chat(open_page("ada"), "garden", "ada")
    expect(ada.locator("#who li")).to_have_text(["ada"])
    bob = chat(open_page("bob"), "garden", "bob")

    # presence: each page lists both, and ada heard bob arrive
    for page in (ada, bob):
        expect(page.locator("#who li")).to_have_text(["ada", "bob"])
    expect(ada.locator("#log li.notice", has_text="bob joined")).to_have_count(1)

    say(ada, "hello bob")
    expect(bob.locator("#log li", has_text="ada: hello bob")).to_have_count(1)
    say(bob, "hi ada")
    for page in (ada, bob):
        expect(page.locator("#log li:not(.notice)")).to_have_text(["ada: hello bob", "bob: hi ada"])
    # the request() behind the form resolved on its reply: the input is cleared
    expect(ada.locator("#say input[name=text]")).to_have_value("")

    # blank text fails the pydantic schema: request() rejects with validation_error
    say(bob, "   ")
    expect(bob.locator("#error")).to_have_text("Type a message (up to 500 characters).")
    expect(bob.locator("#say input[name=text]")).to_have_value("   ")

    # a page in another room hears nothing from this one, and is not listed here
    carol = chat(open_page("carol"), "attic", "carol")
    expect(carol.locator("#who li")).to_have_text(["carol"])
    say(ada, "only for the garden")
    expect(bob.locator("#log li", has_text="only for the garden")).to_have_count(1)
    say(carol, "anyone?")
    expect(carol.locator("#log li:not(.notice)")).to_have_text(["carol: anyone?"])
    expect(ada.locator("#who li")).to_have_text(["ada", "bob"])

    # bob leaves: ada gets the notice and the shorter list
    bob.screenshot(path=screenshot_path(request, "bob"), full_page=True)
    bob.context.close()
    expect(ada.locator("#log li.notice", has_text="bob left")).to_have_count(1)
    expect(ada.locator("#who li")).to_have_text(["ada"])


def test_a_player_acts_and_the_table_sees_it(open_page: OpenPage) -> None:
    demo = log_in(open_page("demo"), "demo")
    demo.get_by_role("button", name="Sit down").click()
    expect(demo.locator("#seat-X")).to_have_text("demo")

    demo2 = log_in(open_page("demo2"), "demo2")
    expect(demo2.locator("#seat-X")).to_have_text("demo")  # the state on connect
    demo2.get_by_role("button", name="Sit down").click()

    watcher = open_page("watcher")  # anonymous: watches through the spectators' socket
    watcher.goto("/table/")
    expect(watcher.get_by_text("You are watching.")).to_be_visible()
    expect(watcher.locator("#watching")).to_have_text("1 watching")  # the spectators' topic presence
    for page in (demo, demo2, watcher):
        expect(page.locator("#seat-O")).to_have_text("demo2")
        expect(page.locator("#outcome")).to_have_text("X to play.")

    cell(demo, 4).click()
    for page in (demo, demo2, watcher):
        expect(cell(page, 4)).to_have_text("X")
        expect(page.locator("#outcome")).to_have_text("O to play.")

    # the rules answer with forbidden error frames, which reject the page's request()
    cell(demo, 0).click()
    expect(demo.locator("#error")).to_have_text("it is O's turn")
    cell(demo2, 4).click()
    expect(demo2.locator("#error")).to_have_text("that cell is taken")
    cell(demo2, 0).click()
    for page in (demo, demo2, watcher):
        expect(cell(page, 0)).to_have_text("O")
        expect(page.locator("#outcome")).to_have_text("X to play.")
    expect(demo2.locator("#error")).to_have_text("")

    # a spectator's socket has no game routes; PING is answered on both sockets
    cell(watcher, 8).click()
    expect(watcher.locator("#error")).to_have_text("no route for type 'GAME_MOVE'")
    expect(cell(demo, 8)).to_have_text("")
    for page in (demo, watcher):
        pong = page.evaluate("() => table.request('PING')")
        assert pong["type"] == "PONG"
        assert isinstance(pong["ref"], int)

    # the players' socket refuses anonymous visitors with 4401, and the client does not retry
    closed = watcher.evaluate(
        """async () => {
            const { connect } = await import("/static/wsroute/wsroute.js");
            const socket = connect("/ws/table/");
            return await new Promise((resolve) => socket.on("state", (state, info) => {
                if (state === "closed") resolve({ code: info.code, reconnectIn: info.reconnectIn, now: socket.state });
            }));
        }"""
    )
    assert closed == {"code": 4401, "reconnectIn": None, "now": "closed"}


def test_the_client_reconnects_after_a_server_restart(server: ExampleServer, open_page: OpenPage) -> None:
    page = open_page("ada")
    sockets: list[list[dict[str, Any]]] = []  # frames sent, per WebSocket the page opened

    def watch(ws: WebSocket) -> None:
        sent: list[dict[str, Any]] = []
        sockets.append(sent)
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))

    page.on("websocket", watch)
    chat(page, "restart", "ada")
    expect(page.locator("#who li")).to_have_text(["ada"])
    page.evaluate(
        "() => { window.states = []; chat.on('state', (state, info) => states.push([state, info.code ?? null])); }"
    )

    server.stop()
    page.wait_for_function("() => states.some(([state]) => state === 'closed')")
    assert not page.evaluate("() => states.some(([state]) => state === 'open')")

    server.start()  # a new process, on the same port
    page.wait_for_function("() => states.at(-1)[0] === 'open'", timeout=RECONNECT_TIMEOUT_MS)
    states = page.evaluate("() => states")
    close_codes = [code for state, code in states if state == "closed"]
    assert close_codes and all(isinstance(code, int) for code in close_codes), states
    expect(page.locator("#status")).to_have_attribute("data-state", "open")
    expect(page.locator("#log li.notice").filter(has_text="connection lost")).to_have_count(1)
    expect(page.locator("#log li.notice").filter(has_text="reconnected")).to_have_count(1)

    reply = page.evaluate("() => chat.request('who')")
    assert reply["event"] == "who"
    assert reply["names"] == ["ada"]
    # the reply carries the ref of the request, which went out on the new connection
    assert len(sockets) >= 2, sockets
    assert {"event": "who", "ref": reply["ref"]} in sockets[-1]
    assert all(frame.get("ref") != reply["ref"] for frame in sockets[0])

    say(page, "back again")
    expect(page.locator("#log li:not(.notice)")).to_have_text(["ada: back again"])


def test_a_refused_handshake_is_a_close_and_fails_the_waiting_request(open_page: OpenPage) -> None:
    page = open_page("ada")
    page.goto("/")
    outcome = page.evaluate(
        """async () => {
            const { connect } = await import("/static/wsroute/wsroute.js");
            const client = connect("/ws/no-such-socket/", { reconnect: false });  // daphne: HTTP 500
            const states = [];
            client.on("state", (state, info) => states.push([state, info.code ?? null]));
            const rejected = await client.request("PING").catch((error) => error.code);
            return { states, rejected, now: client.state };
        }"""
    )
    assert outcome == {"states": [["connecting", None], ["closed", 1006]], "rejected": "closed", "now": "closed"}
