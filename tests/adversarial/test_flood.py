"""Flood control: every frame counts before decoding, one ``rate_limited`` reply per window,
4429 after three limited windows in a row or 50 error frames within 10 s; other sockets
never notice.

Rate windows are whole periods of ``time.monotonic()``; a test that needs a burst to land in
one window starts it just after a window begins (``window_start``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import override_settings
from django.views import View

from tests.adversarial.conftest import (
    CLOSE_FLOODING,
    TIMEOUT,
    Client,
    Connect,
    Style,
    check_error_frame,
    exchange,
    read_frame,
)
from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketRouter
from wsroute_django.consumer import SocketConsumer

#: (style, close code) of every socket whose disconnect hook ran
DISCONNECTS: list[tuple[str, int]] = []


async def record_disconnect(socket: SocketConsumer, code: int) -> None:
    DISCONNECTS.append(("decorator", code))


# -- five frames a second (burst: ten) ----------------------------------------------------------------


class FivePerSecond(RoutedSocketHandler):
    rate_limit = "5/s"


class FivePage(View):
    socket = SocketRouter(handler=FivePerSecond)
    socket.disconnect(record_disconnect)


class FiveEvents(JSONWebSocket):
    rate_limit = "5/s"

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}

    async def on_disconnect(self, code: int) -> None:
        DISCONNECTS.append(("subclass", code))


# -- no rate limit: only the error budget --------------------------------------------------------------


class NoRate(RoutedSocketHandler):
    rate_limit = None


class NoRatePage(View):
    socket = SocketRouter(handler=NoRate)
    socket.disconnect(record_disconnect)


class NoRateEvents(JSONWebSocket):
    rate_limit = None

    async def on_ping(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"event": "pong"}

    async def on_disconnect(self, code: int) -> None:
        DISCONNECTS.append(("subclass", code))


# -- limits from settings --------------------------------------------------------------------------------


class FromSettings(RoutedSocketHandler):
    """``rate_limit`` left at its default: ``WSROUTE["RATE_LIMIT"]`` and ``RATE_LIMIT_BURST``."""


@dataclass(frozen=True)
class FloodStyle:
    style: Style
    limited: Any
    unlimited: Any


FLOOD_STYLES = {
    "decorator": FloodStyle(
        Style("decorator", "type", "ERROR", None, "PING", "PONG"),
        FivePage.socket.as_asgi(),
        NoRatePage.socket.as_asgi(),
    ),
    "subclass": FloodStyle(
        Style("subclass", "event", "error", None, "ping", "pong"), FiveEvents.as_asgi(), NoRateEvents.as_asgi()
    ),
}


@pytest.fixture(params=list(FLOOD_STYLES))
def flood(request: pytest.FixtureRequest) -> FloodStyle:
    return FLOOD_STYLES[request.param]


def malformed(style: Style, index: int) -> tuple[Callable[[Client], Awaitable[None]], str]:
    """The ``index``-th of a rotation of bad frames, with the error code it gets."""
    kinds: list[tuple[Callable[[Client], Awaitable[None]], str]] = [
        (lambda c: c.send_text('{"' + style.key + '": '), "bad_json"),
        (lambda c: c.send_input({"type": "websocket.receive", "bytes": b"\x00\xff"}), "bad_message"),
        (lambda c: c.send_text(json.dumps({style.key: 5})), "bad_message"),
        (lambda c: c.send_text(json.dumps({style.key: "nope", "ref": index})), "unknown_type"),
        (lambda c: c.send_text("[1, 2]"), "bad_message"),
        (lambda c: c.send_text(""), "bad_json"),
        (lambda c: c.send_text(json.dumps({style.key: style.ping, "ref": True})), "bad_message"),
        (lambda c: c.send_text(f'{{"{style.key}": "{style.ping}", "n": 1e400}}'), "bad_json"),
    ]
    return kinds[index % len(kinds)]


async def window_start(period: float = 1.0) -> None:
    """Sleep until just after a rate window begins, so that a burst falls within one window."""
    await asyncio.sleep(period - time.monotonic() % period + 0.02)


async def ping(client: Client, style: Style, ref: str) -> None:
    answer = await client.ask(style.frame(style.ping, ref=ref))
    assert answer.get(style.key) == style.pong and answer.get("ref") == ref, answer


# -- rate limit ------------------------------------------------------------------------------------------------


async def test_malformed_frames_count_and_the_frames_over_the_rate_get_one_rate_limited_reply(
    connect: Connect, flood: FloodStyle
) -> None:
    style = flood.style
    bystander = await connect(flood.limited)
    client = await connect(flood.limited)

    await window_start()
    for index in range(10):  # the burst, spent on malformed frames
        send, _ = malformed(style, index)
        await send(client)
    for index in range(10, 40):  # over the rate: good frames and bad ones alike
        if index % 2:
            await client.send_text(json.dumps(style.frame(style.ping, ref=f"dropped-{index}")))
        else:
            send, _ = malformed(style, index)
            await send(client)

    for index in range(10):
        text, _ = await read_frame(client)
        check_error_frame(text, style, malformed(style, index)[1])
    text, _ = await read_frame(client)
    check_error_frame(text, style, "rate_limited")
    await ping(bystander, style, "bystander")  # a socket of the same class, unaffected

    # The other 29 were dropped: after the window, the next frame's answer is the next thing sent.
    await window_start()
    await ping(client, style, "next-window")


async def test_flooding_three_windows_in_a_row_closes_with_4429_and_no_one_else_notices(connect: Connect) -> None:
    """Both styles at once: 20 frames a second against 5/s, until the server closes each flooder."""
    DISCONNECTS.clear()
    bystanders = {name: await connect(flood.limited) for name, flood in FLOOD_STYLES.items()}
    flooders = {name: await connect(flood.limited) for name, flood in FLOOD_STYLES.items()}

    async def flood_until_closed(name: str) -> tuple[list[dict[str, Any]], float]:
        style, client = FLOOD_STYLES[name].style, flooders[name]
        started = time.monotonic()
        frames: list[dict[str, Any]] = []

        async def send_forever() -> None:
            for index in range(10_000):
                await client.send_text(json.dumps(style.frame(style.ping, ref=index)))
                await asyncio.sleep(0.05)

        sender = asyncio.ensure_future(send_forever())
        try:
            async with asyncio.timeout(8):
                while True:
                    output = await client.receive_output(8)
                    if output["type"] == "websocket.close":
                        assert output["code"] == CLOSE_FLOODING, output
                        return frames, time.monotonic() - started
                    frames.append(json.loads(output["text"]))
        finally:
            sender.cancel()

    results = await asyncio.gather(*(flood_until_closed(name) for name in FLOOD_STYLES))
    for name, (frames, took) in zip(FLOOD_STYLES, results, strict=True):
        style = FLOOD_STYLES[name].style
        limited = [frame for frame in frames if frame.get(style.key) == style.error]
        assert [frame["code"] for frame in limited] == ["rate_limited"] * 2, (name, limited)
        assert 1.0 < took < 5.0, (name, took)  # three windows of one second, the first one partly
        await bystanders[name].send_text("still there?")
        text, _ = await read_frame(bystanders[name])
        check_error_frame(text, style, "bad_json")
        await ping(bystanders[name], style, "after")
        flooders[name].finished = True
        await flooders[name].send_input({"type": "websocket.disconnect", "code": CLOSE_FLOODING})
        await flooders[name].wait(TIMEOUT)
    assert sorted(DISCONNECTS) == [("decorator", CLOSE_FLOODING), ("subclass", CLOSE_FLOODING)]


async def test_the_rate_limit_settings_apply_to_consumers_that_do_not_set_their_own(connect: Connect) -> None:
    style = FLOOD_STYLES["decorator"].style
    with override_settings(WSROUTE={"PERSIST": False, "RATE_LIMIT": "5/s", "RATE_LIMIT_BURST": 3}):
        client = await connect(FromSettings.as_asgi())
    with override_settings(WSROUTE={"PERSIST": False, "RATE_LIMIT": None, "ERROR_LIMIT": None}):
        unlimited = await connect(FromSettings.as_asgi())

    await window_start()
    for index in range(10):
        await client.send_text(json.dumps(style.frame(style.ping, ref=index)))
    for index in range(3):
        _, frame = await read_frame(client)
        assert frame.get(style.key) == style.pong and frame["ref"] == index, frame
    text, _ = await read_frame(client)
    check_error_frame(text, style, "rate_limited")

    for index in range(300):  # more than the default burst of 200
        await unlimited.send_text(json.dumps(style.frame(style.ping, ref=index)))
    for index in range(300):
        _, frame = await read_frame(unlimited)
        assert frame.get(style.key) == style.pong and frame["ref"] == index, frame


# -- error budget ------------------------------------------------------------------------------------------------


async def test_fifty_error_frames_within_ten_seconds_close_with_4429(connect: Connect, flood: FloodStyle) -> None:
    style = flood.style
    DISCONNECTS.clear()
    bystander = await connect(flood.unlimited)
    client = await connect(flood.unlimited)

    async def send_49() -> None:
        for index in range(49):
            send, _ = malformed(style, index)
            await send(client)

    answers = await exchange(client, style, send_49)  # good frames do not count
    assert len(answers) == 49
    for index, (text, _) in enumerate(answers):
        check_error_frame(text, style, malformed(style, index)[1])

    send, code = malformed(style, 49)
    await send(client)
    text, _ = await read_frame(client)
    check_error_frame(text, style, code)
    await client.expect_close(CLOSE_FLOODING)

    await ping(bystander, style, "bystander")
    client.finished = True
    await client.send_input({"type": "websocket.disconnect", "code": CLOSE_FLOODING})
    await client.wait(TIMEOUT)
    assert [(style.name, CLOSE_FLOODING)] == DISCONNECTS


async def test_frames_after_a_flooding_close_are_ignored(connect: Connect) -> None:
    style = FLOOD_STYLES["decorator"].style
    client = await connect(FLOOD_STYLES["decorator"].unlimited)
    for index in range(50):
        send, _ = malformed(style, index)
        await send(client)
    for _ in range(50):
        await read_frame(client)
    await client.expect_close(CLOSE_FLOODING)
    for index in range(20):
        await client.send_text(json.dumps(style.frame(style.ping, ref=index)))
        send, _ = malformed(style, index)
        await send(client)
    assert await client.receive_nothing(timeout=0.2)
