"""Sync (``def``) and async (``async def``) handlers, hooks and middleware, in both styles.

Sync code runs in a worker thread where the ORM works and the consumer's API needs no
``await``; async code runs on the event loop's own thread. The same handler functions
serve both styles: a subclass-style method is a function taking the consumer first.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.views import View
from pydantic import BaseModel

from tests.consumers.conftest import Client, Connect
from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketMiddleware, SocketRouter
from wsroute_django.consumer import SocketConsumer

WATCH = "watch"
WORK = "work"


def ident() -> int:
    return threading.get_ident()


# -- middleware: one sync, one async, in every consumer --------------------------------------------


class SyncProbe(SocketMiddleware):
    def on_connect(self) -> None:
        self.consumer.threads = {"sync_mw_connect": ident()}

    def on_receive(self, content: dict[str, Any]) -> dict[str, Any] | None:
        return {**content, "sync_mw_receive": ident()} if "probe" in content else None

    def on_send(self, content: dict[str, Any]) -> dict[str, Any] | None:
        return {**content, "sync_mw_send": ident()} if "probe" in content else None

    def on_disconnect(self, code: int) -> None:
        self.consumer.group_send(WATCH, "sync-mw-gone", {"thread": ident(), "code": code})


class AsyncProbe(SocketMiddleware):
    async def on_connect(self) -> None:
        self.consumer.threads["async_mw_connect"] = ident()

    async def on_receive(self, content: dict[str, Any]) -> dict[str, Any] | None:
        return {**content, "async_mw_receive": ident()} if "probe" in content else None

    async def on_send(self, content: dict[str, Any]) -> dict[str, Any] | None:
        return {**content, "async_mw_send": ident()} if "probe" in content else None

    async def on_disconnect(self, code: int) -> None:
        await self.consumer.group_send(WATCH, "async-mw-gone", {"thread": ident(), "code": code})


# -- hooks ------------------------------------------------------------------------------------------


def connect_sync(socket: SocketConsumer) -> None:
    socket.accept()  # no await in a sync hook
    socket.threads["hook_connect"] = ident()
    socket.send_json({socket.type_key: "hello", "state": socket.state.value})


async def connect_async(socket: SocketConsumer) -> None:
    await socket.accept()
    socket.threads["hook_connect"] = ident()
    await socket.send_json({socket.type_key: "hello", "state": socket.state.value})


def disconnect_sync(socket: SocketConsumer, code: int) -> None:
    socket.group_send(WATCH, "hook-gone", {"thread": ident(), "code": code})


async def disconnect_async(socket: SocketConsumer, code: int) -> None:
    await socket.group_send(WATCH, "hook-gone", {"thread": ident(), "code": code})


# -- handlers ---------------------------------------------------------------------------------------


class Done(BaseModel):
    n: int
    status: str = "done"


def probe_sync(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    return {socket.type_key: "probed", "probe": True, "seen": content, "connect": socket.threads, "handler": ident()}


async def probe_async(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    return {socket.type_key: "probed", "probe": True, "seen": content, "connect": socket.threads, "handler": ident()}


def work_sync(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    socket.send_json({socket.type_key: "progress", "n": content["n"]})
    socket.group_send(WORK, "worked", {"n": content["n"]})
    return {socket.type_key: "done", "n": content["n"]}


async def work_async(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    await socket.send_json({socket.type_key: "progress", "n": content["n"]})
    await socket.group_send(WORK, "worked", {"n": content["n"]})
    return {socket.type_key: "done", "n": content["n"]}


def model_sync(socket: SocketConsumer, content: dict[str, Any]) -> Done:
    return Done(n=content["n"])


async def model_async(socket: SocketConsumer, content: dict[str, Any]) -> Done:
    return Done(n=content["n"])


def count_sync(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    return {socket.type_key: "count", "users": get_user_model().objects.count()}


async def count_async(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    return {socket.type_key: "count", "users": await get_user_model().objects.acount()}


def seq_sync(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    return {socket.type_key: "seq", "n": content["n"]}


async def seq_async(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(0)  # give way to anything else that wants to run
    return {socket.type_key: "seq", "n": content["n"]}


HANDLERS: dict[str, Callable[..., Any]] = {
    "probe_sync": probe_sync,
    "probe_async": probe_async,
    "work_sync": work_sync,
    "work_async": work_async,
    "model_sync": model_sync,
    "model_async": model_async,
    "count_sync": count_sync,
    "count_async": count_async,
    "seq_sync": seq_sync,
    "seq_async": seq_async,
}


# -- decorator style ----------------------------------------------------------------------------------


class ProbeHandler(RoutedSocketHandler):
    middlewares = [SyncProbe, AsyncProbe]


def route_all(router: SocketRouter) -> SocketRouter:
    for name, handler in HANDLERS.items():
        router.route(name)(handler)
    return router


class DecoratorSyncHooks(View):
    socket = route_all(SocketRouter(handler=ProbeHandler))
    socket.connect(connect_sync)
    socket.disconnect(disconnect_sync)


class DecoratorAsyncHooks(View):
    socket = route_all(SocketRouter(handler=ProbeHandler))
    socket.connect(connect_async)
    socket.disconnect(disconnect_async)


# -- subclass style -----------------------------------------------------------------------------------


class EventProbe(JSONWebSocket):
    middlewares = [SyncProbe, AsyncProbe]
    on_probe_sync = probe_sync
    on_probe_async = probe_async
    on_work_sync = work_sync
    on_work_async = work_async
    on_model_sync = model_sync
    on_model_async = model_async
    on_count_sync = count_sync
    on_count_async = count_async
    on_seq_sync = seq_sync
    on_seq_async = seq_async


class EventSyncHooks(EventProbe):
    on_connect = connect_sync
    on_disconnect = disconnect_sync


class EventAsyncHooks(EventProbe):
    on_connect = connect_async
    on_disconnect = disconnect_async


class Watcher(JSONWebSocket):
    async def on_connect(self) -> None:
        await self.group_add(WATCH)
        await self.group_add(WORK)


APPS: dict[str, tuple[Any, str, bool]] = {
    # name: (app, routing key, hooks are sync)
    "decorator-sync-hooks": (DecoratorSyncHooks.socket.as_asgi(), "type", True),
    "decorator-async-hooks": (DecoratorAsyncHooks.socket.as_asgi(), "type", False),
    "subclass-sync-hooks": (EventSyncHooks.as_asgi(), "event", True),
    "subclass-async-hooks": (EventAsyncHooks.as_asgi(), "event", False),
}


async def open_probe(connect: Connect, name: str) -> tuple[Client, str]:
    app, key, _ = APPS[name]
    client = await connect(app)
    # The hook's accept() ran (without await in the sync hook) before it sent this.
    assert await client.recv() == {key: "hello", "state": "open"}
    return client, key


@pytest.mark.parametrize("name", APPS)
async def test_hooks_and_middleware_run_on_the_loop_when_async_and_off_it_when_sync(
    connect: Connect, name: str
) -> None:
    loop_thread = ident()
    hooks_sync = APPS[name][2]
    watcher = await connect(Watcher.as_asgi())
    client, key = await open_probe(connect, name)

    replies = {variant: await client.ask({key: f"probe_{variant}", "probe": True}) for variant in ("sync", "async")}

    for variant, reply in replies.items():
        assert reply[key] == "probed"
        assert (reply["handler"] == loop_thread) is (variant == "async"), variant
        for frame_part in (reply["seen"], reply["connect"], reply):
            for field, thread in frame_part.items():
                if field.startswith("sync_mw_"):
                    assert thread != loop_thread, field
                elif field.startswith("async_mw_"):
                    assert thread == loop_thread, field
        assert {"sync_mw_receive", "async_mw_receive"} <= set(reply["seen"])
        assert {"sync_mw_send", "async_mw_send"} <= set(reply)
        assert {"sync_mw_connect", "async_mw_connect", "hook_connect"} == set(reply["connect"])
        assert (reply["connect"]["hook_connect"] == loop_thread) is not hooks_sync

    await client.disconnect(4000)

    # The disconnect hook first, then the middleware in reverse order; each on its own kind of thread.
    hook_gone, async_gone, sync_gone = [await watcher.recv() for _ in range(3)]
    assert (hook_gone["event"], async_gone["event"], sync_gone["event"]) == (
        "hook-gone",
        "async-mw-gone",
        "sync-mw-gone",
    )
    assert hook_gone["code"] == async_gone["code"] == sync_gone["code"] == 4000
    assert (hook_gone["thread"] == loop_thread) is not hooks_sync
    assert async_gone["thread"] == loop_thread
    assert sync_gone["thread"] != loop_thread


@pytest.mark.parametrize("variant", ["sync", "async"])
@pytest.mark.parametrize("name", APPS)
async def test_handlers_send_and_group_send_and_reply_with_the_ref(connect: Connect, name: str, variant: str) -> None:
    watcher = await connect(Watcher.as_asgi())
    client, key = await open_probe(connect, name)

    await client.send({key: f"work_{variant}", "n": 7, "ref": "job-1"})

    # Frames sent while handling the request carry its ref, like the reply does.
    assert await client.recv() == {key: "progress", "n": 7, "ref": "job-1"}
    assert await client.recv() == {key: "done", "n": 7, "ref": "job-1"}
    # Another socket's copy of the group message is not a reply to anything.
    assert await watcher.recv() == {"event": "worked", "n": 7}
    # A request without a ref gets frames without one.
    await client.send({key: f"work_{variant}", "n": 8})
    assert await client.recv() == {key: "progress", "n": 8}
    assert await client.recv() == {key: "done", "n": 8}
    assert await watcher.recv() == {"event": "worked", "n": 8}


@pytest.mark.parametrize("variant", ["sync", "async"])
@pytest.mark.parametrize("name", APPS)
async def test_a_returned_model_is_the_reply(connect: Connect, name: str, variant: str) -> None:
    client, key = await open_probe(connect, name)
    assert await client.ask({key: f"model_{variant}", "n": 3, "ref": 99}) == {"n": 3, "status": "done", "ref": 99}
    assert await client.ask({key: f"model_{variant}", "n": 4}) == {"n": 4, "status": "done"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["decorator-sync-hooks", "subclass-async-hooks"])
async def test_the_orm_works_in_handlers(connect: Connect, name: str) -> None:
    users = get_user_model().objects
    await users.acreate(username="ann")
    await users.acreate(username="bob")
    client, key = await open_probe(connect, name)
    assert await client.ask({key: "count_sync"}) == {key: "count", "users": 2}
    assert await client.ask({key: "count_async"}) == {key: "count", "users": 2}
    await users.acreate(username="cid")
    assert await client.ask({key: "count_sync", "ref": 1}) == {key: "count", "users": 3, "ref": 1}


@pytest.mark.parametrize("name", APPS)
async def test_messages_from_one_connection_are_handled_in_order(connect: Connect, name: str) -> None:
    client, key = await open_probe(connect, name)
    # Sync handlers hop to a thread and async ones do not; the replies still come back in order.
    for n in range(30):
        await client.send({key: "seq_sync" if n % 3 == 0 else "seq_async", "n": n, "ref": n})
    assert [await client.recv() for _ in range(30)] == [{key: "seq", "n": n, "ref": n} for n in range(30)]
