"""A Socket row is written on connect, is ``socket.record`` in handlers, and goes on disconnect."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.test import override_settings
from django.utils import timezone
from django.views import View

from tests.rows.conftest import TIMEOUT, Sockets, only_row, rows
from wsroute_django import JSONWebSocket, RoutedSocketHandler, SocketRouter
from wsroute_django.consumer import SocketConsumer
from wsroute_django.models import Socket

pytestmark = pytest.mark.django_db(transaction=True)


class Probe(JSONWebSocket):
    """Answers with what it knows about its own row."""

    persist = True

    async def on_record(self, event: dict[str, Any]) -> dict[str, Any]:
        record = self.record
        return {
            "event": "record",
            "pk": None if record is None else record.pk,
            "channel_name": None if record is None else record.channel_name,
            "mine": self.channel_name,
        }


async def new_session(engine: str, **data: Any) -> SessionBase:
    """A saved session of ``engine``, built with that engine's own ``SessionStore``."""
    store: SessionBase = import_module(engine).SessionStore()
    for key, value in data.items():
        store[key] = value
    await database_sync_to_async(store.save)()
    return store


async def test_connect_writes_the_row_and_disconnect_deletes_it(sockets: Sockets, alice: Any) -> None:
    session = await new_session("django.contrib.sessions.backends.db", cart=3)
    before = timezone.now()
    communicator = await sockets.connect(
        Probe, "/chat/lobby/", user=alice, session=session, client=("203.0.113.5", 51000)
    )
    after = timezone.now()

    row = await only_row()
    await communicator.send_json_to({"event": "record"})
    reply = await communicator.receive_json_from(timeout=TIMEOUT)

    assert reply == {"event": "record", "pk": row.pk, "channel_name": row.channel_name, "mine": row.channel_name}
    assert row.path == "/chat/lobby/"
    assert row.user_id == alice.pk
    assert row.session_id == session.session_key
    assert row.session_key == session.session_key
    assert row.user_ip == "203.0.113.5"
    assert row.active is True
    assert before <= row.connected_at <= after
    assert before <= row.last_ping <= after

    await sockets.disconnect(communicator)
    assert await rows() == []


async def test_the_row_survives_its_session_row_being_deleted(sockets: Sockets, alice: Any) -> None:
    session = await new_session("django.contrib.sessions.backends.db")
    await sockets.connect(Probe, user=alice, session=session)

    await database_sync_to_async(session.delete)()  # logout elsewhere: the socket stays

    row = await only_row()
    assert row.session_id is None
    assert row.user_id == alice.pk


async def test_anonymous_socket_has_no_user(sockets: Sockets) -> None:
    await sockets.connect(Probe, user=AnonymousUser())

    row = await only_row()
    assert row.user_id is None
    assert row.session_id is None
    assert row.session_key == ""
    assert row.user_ip is None  # no scope["client"]


async def test_decorator_style_handlers_see_the_row_as_socket_record(sockets: Sockets, alice: Any) -> None:
    class Persisted(RoutedSocketHandler):
        persist = True

    class Page(View):
        socket = SocketRouter(handler=Persisted)

        @socket.route("WHO")
        def who(socket: SocketConsumer, content: dict[str, Any]) -> dict[str, Any]:  # type: ignore[misc]
            # sync: runs in a worker thread, where the ORM works
            assert socket.record is not None
            fresh = Socket.objects.select_related("user").get(pk=socket.record.pk)
            assert fresh.user is not None
            return {"type": "YOU", "pk": socket.record.pk, "user": fresh.user.username}

    communicator = await sockets.connect(Page.socket.as_asgi(), "/page/", user=alice)
    await communicator.send_json_to({"type": "WHO"})
    reply = await communicator.receive_json_from(timeout=TIMEOUT)

    row = await only_row(path="/page/")
    assert reply == {"type": "YOU", "pk": row.pk, "user": "alice"}


async def test_persist_false_writes_nothing(sockets: Sockets, alice: Any) -> None:
    class Volatile(Probe):
        persist = False

    with override_settings(WSROUTE={"PERSIST": True}):
        communicator = await sockets.connect(Volatile, user=alice)
        await communicator.send_json_to({"event": "record"})
        reply = await communicator.receive_json_from(timeout=TIMEOUT)
        assert reply["pk"] is None
        assert await rows() == []
        await sockets.disconnect(communicator)


async def test_the_persist_setting_is_the_default(sockets: Sockets, alice: Any) -> None:
    class FromSettings(JSONWebSocket):
        pass  # persist = None: WSROUTE["PERSIST"] decides

    assert settings.WSROUTE == {"PERSIST": False}
    off = await sockets.connect(FromSettings, "/off/", user=alice)
    assert await rows() == []
    await sockets.disconnect(off)

    with override_settings(WSROUTE={"PERSIST": True}):
        await sockets.connect(FromSettings, "/on/", user=alice)
        assert [row.path for row in await rows()] == ["/on/"]
        await sockets.close_all()
    assert await rows() == []


# -- sessions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "engine", ["django.contrib.sessions.backends.cache", "django.contrib.sessions.backends.signed_cookies"]
)
async def test_sessions_without_a_row_do_not_break_connect(sockets: Sockets, alice: Any, engine: str) -> None:
    with override_settings(SESSION_ENGINE=engine):
        session = await new_session(engine, theme="dark")
        assert session.session_key
        await sockets.connect(Probe, user=alice, session=session)

        row = await only_row()
        assert row.session_id is None  # no django_session row to point at
        assert row.user_id == alice.pk
        if engine.endswith(".cache"):
            assert row.session_key == session.session_key
        else:
            # A signed-cookie "key" is the signed session data itself (54+ characters),
            # not an identifier: it is not stored (and would not fit the 40-char column).
            assert len(session.session_key) > 40
            assert row.session_key == ""
        await sockets.close_all()


async def test_cached_db_sessions_are_linked(sockets: Sockets, alice: Any) -> None:
    engine = "django.contrib.sessions.backends.cached_db"
    with override_settings(SESSION_ENGINE=engine):
        session = await new_session(engine)
        await sockets.connect(Probe, user=alice, session=session)
        row = await only_row()
        assert row.session_id == session.session_key
        await sockets.close_all()


async def test_channels_auth_and_session_middleware_fill_the_row(sockets: Sockets, alice: Any) -> None:
    """The scope Channels' own middleware builds (lazy session and user objects) is understood."""
    session = await new_session(
        "django.contrib.sessions.backends.db",
        **{
            SESSION_KEY: str(alice.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: alice.get_session_auth_hash(),
        },
    )
    cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}".encode()
    app = AuthMiddlewareStack(Probe.as_asgi())

    await sockets.connect(app, headers=[(b"cookie", cookie)], client=("192.0.2.10", 40000))

    row = await only_row()
    assert row.user_id == alice.pk
    assert row.session_key == session.session_key
    assert row.session_id == session.session_key
    assert row.user_ip == "192.0.2.10"


# -- client address -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "stored"),
    [
        (("203.0.113.7", 5000), "203.0.113.7"),
        (("2001:db8::1", 5000), "2001:db8::1"),
        (("2001:0DB8:0000::0001", 5000), "2001:db8::1"),
        (("[2001:db8::2]", 5000), "2001:db8::2"),
        (("not-an-address", 5000), None),
    ],
)
async def test_user_ip_is_the_peer_address(sockets: Sockets, client: tuple[str, int], stored: str | None) -> None:
    await sockets.connect(Probe, client=client)
    assert (await only_row()).user_ip == stored


XFF = b"x-forwarded-for"


async def test_proxy_header_is_ignored_unless_trusted(sockets: Sockets) -> None:
    await sockets.connect(Probe, client=("10.0.0.2", 5000), headers=[(XFF, b"198.51.100.9")])
    assert (await only_row()).user_ip == "10.0.0.2"  # a client cannot spoof its address


@pytest.mark.parametrize(
    ("header", "stored"),
    [
        (b"198.51.100.9", "198.51.100.9"),
        (b"198.51.100.9, 10.0.0.1, 10.0.0.2", "198.51.100.9"),
        (b" 2001:db8::7 ,10.0.0.1", "2001:db8::7"),
        (b"not-an-address, 10.0.0.1", None),
    ],
)
async def test_trusted_proxy_header_gives_the_first_address(
    sockets: Sockets, header: bytes, stored: str | None
) -> None:
    with override_settings(WSROUTE={"TRUSTED_PROXY_HEADER": "x-forwarded-for", "PERSIST": True}):
        await sockets.connect(Probe, client=("10.0.0.2", 5000), headers=[(b"X-Forwarded-For", header)])
        assert (await only_row()).user_ip == stored
        await sockets.close_all()


async def test_trusted_proxy_header_absent_falls_back_to_the_peer(sockets: Sockets) -> None:
    with override_settings(WSROUTE={"TRUSTED_PROXY_HEADER": "x-forwarded-for", "PERSIST": True}):
        await sockets.connect(Probe, client=("10.0.0.3", 5000), headers=[(b"x-real-ip", b"198.51.100.1")])
        assert (await only_row()).user_ip == "10.0.0.3"
        await sockets.close_all()
