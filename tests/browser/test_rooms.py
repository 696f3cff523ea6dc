"""The topic-based chat (``/rooms/``) in a real browser: presence per user, a forbidden join,
a killed server process, and rejoining after a restart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import TIMEOUT_MS, ExampleServer, free_port

pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright: pip install playwright")

from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

OpenPage = Callable[[str], Page]
REJOIN_TIMEOUT_MS = 30_000  # the client's reconnect backoff, then the topic's rejoin
#: liveness short enough that a killed process's users leave within a few seconds
FAST = {"WSROUTE_HEARTBEAT_INTERVAL": "0.3", "WSROUTE_STALE_AFTER": "1.5"}


def enter(page: Page, room: str) -> None:
    page.locator("#pick input[name=room]").fill(room)
    page.locator("#pick button", has_text="Join").first.click()
    expect(page.locator(f'.room[data-room="{room}"]')).to_be_visible()


def here(page: Page, room: str) -> object:
    return page.locator(f'.room[data-room="{room}"] .here li')


def rooms_page(page: Page, name: str | None = None, room: str | None = None) -> Page:
    params = [f"name={name}"] if name else []
    if room:
        params.append(f"room={room}")
    page.goto("/rooms/" + (f"?{'&'.join(params)}" if params else ""))
    expect(page.locator("#status")).to_have_attribute("data-state", "open")
    return page


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/?next=/rooms/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(username)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url("/rooms/")
    expect(page.locator("#status")).to_have_attribute("data-state", "open")


def test_two_users_see_each_other_join_and_leave(open_page: OpenPage) -> None:
    ada = rooms_page(open_page("ada"), "ada", room="garden")
    expect(here(ada, "garden")).to_have_text(["ada"])
    bob = rooms_page(open_page("bob"), "bob", room="garden")
    for page in (ada, bob):
        expect(here(page, "garden")).to_have_text(["ada", "bob"])
    expect(ada.locator('.room[data-room="garden"] .log li.notice', has_text="bob joined")).to_have_count(1)

    bob.locator('.room[data-room="garden"] .say input').fill("hi ada")
    bob.locator('.room[data-room="garden"] .say button', has_text="Send").click()
    expect(ada.locator('.room[data-room="garden"] .log li', has_text="bob: hi ada")).to_have_count(1)

    bob.locator('.room[data-room="garden"] .leave').click()
    expect(here(ada, "garden")).to_have_text(["ada"])
    expect(ada.locator('.room[data-room="garden"] .log li.notice', has_text="bob left")).to_have_count(1)


def test_a_second_tab_closing_is_not_a_leave(open_page: OpenPage) -> None:
    watcher = rooms_page(open_page("watcher"), "watcher", room="hall")
    demo = open_page("demo")
    log_in(demo, "demo")
    enter(demo, "hall")
    second = demo.context.new_page()  # same browser context: same session, same user
    second.goto("/rooms/?room=hall")
    expect(here(second, "hall")).to_have_text(["demo", "watcher"])
    expect(here(watcher, "hall")).to_have_text(["demo", "watcher"])

    second.close()
    # a frame sent after the close reaches the watcher after any leave would have: still two
    demo.locator('.room[data-room="hall"] .say input').fill("still here")
    demo.locator('.room[data-room="hall"] .say button', has_text="Send").click()
    expect(watcher.locator('.room[data-room="hall"] .log li', has_text="demo: still here")).to_have_count(1)
    expect(here(watcher, "hall")).to_have_text(["demo", "watcher"])
    expect(watcher.locator(".log li.notice", has_text="demo left")).to_have_count(0)

    demo.close()
    expect(here(watcher, "hall")).to_have_text(["watcher"])


def test_a_forbidden_join_shows_the_error(open_page: OpenPage) -> None:
    guest = rooms_page(open_page("guest"), "guest")
    guest.locator("#pick [data-room=private]").click()
    expect(guest.locator("#error")).to_have_text("forbidden: log in to join the private room")
    expect(guest.locator(".room")).to_have_count(0)
    assert guest.evaluate("() => rooms.topic('room:private').state") == "rejected"

    member = open_page("member")
    log_in(member, "demo2")
    member.locator("#pick [data-room=private]").click()
    expect(here(member, "private")).to_have_text(["demo2"])


def test_the_page_rejoins_after_a_server_restart(server: ExampleServer, open_page: OpenPage) -> None:
    ada = rooms_page(open_page("ada"), "ada", room="restart")
    expect(here(ada, "restart")).to_have_text(["ada"])

    server.stop()
    expect(ada.locator("#status")).to_have_attribute("data-state", "closed")
    server.start()

    ada.wait_for_function("() => rooms.topic('room:restart').state === 'joined'", timeout=REJOIN_TIMEOUT_MS)
    expect(here(ada, "restart")).to_have_text(["ada"])
    bob = rooms_page(open_page("bob"), "bob", room="restart")
    expect(here(ada, "restart")).to_have_text(["ada", "bob"])  # ada is in the new process's topic
    expect(here(bob, "restart")).to_have_text(["ada", "bob"])


@pytest.fixture
def two_servers(example_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[ExampleServer, ExampleServer]]:
    """Two daphne processes sharing the example's database, with short liveness."""
    env = {**example_env, **FAST}
    servers = (
        ExampleServer(env, free_port(), tmp_path / "daphne-a.log"),
        ExampleServer(env, free_port(), tmp_path / "daphne-b.log"),
    )
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_survivors_drop_the_users_of_a_killed_process(
    browser: Browser, two_servers: tuple[ExampleServer, ExampleServer]
) -> None:
    a, b = two_servers

    def page_on(server: ExampleServer) -> Page:
        context = browser.new_context(base_url=server.url)
        context.set_default_timeout(TIMEOUT_MS)
        return context.new_page()

    # Each process has its own in-memory channel layer: the state of a join comes from the
    # shared database, and the prune's leaves from the surviving process's own sweep.
    bob = rooms_page(page_on(b), "bob", room="crash")
    ada = rooms_page(page_on(a), "ada", room="crash")
    expect(here(ada, "crash")).to_have_text(["ada", "bob"])

    assert b.proc is not None
    b.proc.kill()  # kill -9
    b.proc.wait(timeout=10)

    expect(here(ada, "crash")).to_have_text(["ada"], timeout=REJOIN_TIMEOUT_MS)
    expect(ada.locator(".log li.notice", has_text="bob left")).to_have_count(1)
    bob.context.close()
    ada.context.close()
