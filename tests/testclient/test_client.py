"""``SocketClient`` against real consumers of both styles, the real channel layer and database."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import path

from tests.testclient.consumers import Actions, Chat, Lobby, Raw
from wsroute_django.models import Socket
from wsroute_django.testing import (
    ErrorReply,
    FrameTimeout,
    HandshakeRefused,
    SocketClient,
    SocketClients,
    SocketClosed,
    UnexpectedFrame,
)

ASGI = "tests.testclient.consumers.application"

pytestmark = pytest.mark.django_db(transaction=True)  # Chat writes Socket rows


async def make_user(name: str) -> Any:
    return await database_sync_to_async(get_user_model().objects.create_user)(username=name)


# -- both styles ----------------------------------------------------------------------------------


async def test_subclass_style_request_gets_its_reply_and_keeps_the_broadcast() -> None:
    async with SocketClient(Chat, "/ws/chat/") as client, SocketClient(Chat, "/ws/chat/") as other:
        assert client.routing_key == "event"
        reply = await client.request("say", text="hi")
        assert reply == {"event": "sent", "ref": reply["ref"]}
        # The broadcast may reach the sender before its reply: then it was kept, not lost.
        assert await client.receive_event("said") == {"event": "said", "text": "hi"}
        assert await other.receive_event("said") == {"event": "said", "text": "hi"}
        await client.assert_nothing()
        await other.assert_nothing()


async def test_decorator_style_routing_key_comes_from_the_socket_router() -> None:
    async with SocketClient(Lobby.socket, "/ws/lobby/") as client:
        assert client.routing_key == "type"
        assert (await client.request("ECHO", text="x"))["got"] == "x"
        assert (await client.request("GAME_FOLD"))["action"] == "FOLD"
        assert await client.receive_event("WELCOME") == {"type": "WELCOME"}  # sent on connect, kept
        await client.expect_error("unknown_type", "NOPE")


async def test_each_request_gets_a_fresh_ref_and_a_given_ref_is_kept() -> None:
    async with SocketClient(Lobby.socket) as client:
        first = await client.request("ECHO")
        second = await client.request("ECHO")
        assert first["ref"] != second["ref"]
        assert (await client.request("ECHO", {"ref": 7, "text": "own"})) == {"type": "ECHOED", "got": "own", "ref": 7}


async def test_payload_keys_that_clash_with_parameter_names_go_in_the_mapping() -> None:
    async with SocketClient(Lobby.socket) as client:
        reply = await client.request("ECHO", {"text": "from the mapping", "name": "n"})
        assert reply["got"] == "from the mapping"


async def test_custom_routing_key_is_found_on_the_consumer() -> None:
    async with SocketClient(Actions) as client:
        assert client.routing_key == "action"
        assert (await client.request("add", a=1, b=2))["sum"] == 3
        await client.expect_error("unknown_type", "sub", a=1)


async def test_routing_key_can_be_given() -> None:
    app = URLRouter([path("", Actions.as_asgi())])
    async with SocketClient(app, routing_key="action") as client:
        assert (await client.request("add", a=2, b=2))["sum"] == 4


# -- through the project's ASGI application ------------------------------------------------------


@override_settings(ASGI_APPLICATION=ASGI)
async def test_url_path_goes_through_the_asgi_application_and_finds_each_style() -> None:
    async with SocketClient("/ws/chat/") as chat, SocketClient("/ws/lobby/") as lobby:
        assert (chat.routing_key, lobby.routing_key) == ("event", "type")
        assert (await chat.request("say", text="x"))["event"] == "sent"
        assert (await lobby.request("ECHO", text="y"))["got"] == "y"
        async with SocketClient("/ws/actions/") as actions:
            assert actions.routing_key == "action"


@override_settings(ASGI_APPLICATION=ASGI)
async def test_user_is_logged_in_through_a_real_session() -> None:
    alice = await make_user("alice")
    async with SocketClient("/ws/chat/", user=alice) as client:
        me = await client.request("whoami")
    assert me["user"] == "alice"
    assert me["authenticated"] is True
    assert me["row_user_id"] == alice.pk
    assert me["session_key"]
    assert me["row_session_key"] == me["session_key"]  # the Socket row points at the session
    assert not await Socket.objects.filter(user=alice).aexists()  # deleted on disconnect


async def test_a_consumer_class_is_wrapped_in_the_auth_middleware() -> None:
    bob = await make_user("bob")
    async with SocketClient(Lobby.members, "/ws/lobby/members/", user=bob) as client:
        assert await client.request("WHO") == {"type": "YOU", "user": "bob", "ref": client.frames[-1]["ref"]}
    async with SocketClient(Chat) as anonymous:
        me = await anonymous.request("whoami")
        assert (me["user"], me["authenticated"], me["row_user_id"]) == ("", False, None)


async def test_login_required_closes_an_anonymous_client_with_4401() -> None:
    async with SocketClient(Lobby.members) as client:
        assert await client.expect_close(4401) == 4401
        with pytest.raises(SocketClosed, match="code 4401"):
            await client.request("WHO")


async def test_the_default_origin_passes_allowed_hosts_and_others_are_refused() -> None:
    from channels.auth import AuthMiddlewareStack
    from channels.security.websocket import AllowedHostsOriginValidator

    with override_settings(ALLOWED_HOSTS=[".game.example", "other.example"]):
        app = AllowedHostsOriginValidator(AuthMiddlewareStack(Lobby.socket.as_asgi()))
        async with SocketClient(app) as client:
            assert await client.receive_event("WELCOME")
        for origin in ["https://evil.example", None]:
            with pytest.raises(HandshakeRefused, match="refused the socket") as refused:
                await SocketClient(app, origin=origin).connect()
            assert refused.value.code == 1000
        async with SocketClient(app, origin="https://www.game.example") as subdomain:
            assert await subdomain.receive_event("WELCOME")


# -- errors ---------------------------------------------------------------------------------------


async def test_expect_error_on_a_request_and_as_the_next_error() -> None:
    async with SocketClient(Chat) as client:
        error = await client.expect_error("validation_error", "say", text="")
        assert error["event"] == "error"
        assert error["errors"][0]["loc"] == ["text"]
        await client.send_text("{not json")
        bad = await client.expect_error("bad_json")
        assert "ref" not in bad
        await client.send({"event": "nothing-here"})
        assert (await client.expect_error("unknown_type"))["code"] == "unknown_type"


async def test_request_answered_with_an_error_raises_error_reply() -> None:
    async with SocketClient(Chat) as client:
        with pytest.raises(ErrorReply, match="answered with an error frame, code 'validation_error'") as caught:
            await client.request("say", text="")
        assert caught.value.code == "validation_error"
        assert caught.value.frame in client.frames


async def test_an_error_without_ref_answers_the_request_that_caused_it() -> None:
    with override_settings(WSROUTE={"PERSIST": False, "MAX_MESSAGE_SIZE": 64}):
        async with SocketClient(Lobby.socket) as client:
            error = await client.expect_error("too_large", "ECHO", text="x" * 100)
            assert "ref" not in error  # the frame was never read, so its ref is unknown
            assert (await client.request("ECHO", text="ok"))["got"] == "ok"


async def test_expect_error_with_another_code_fails_showing_the_frames() -> None:
    async with SocketClient(Chat) as client:
        with pytest.raises(UnexpectedFrame) as caught:
            await client.expect_error("forbidden", "say", text="")
    message = str(caught.value)
    assert "expected the answer to 'say'" in message and "'validation_error'" in message
    assert '"code": "validation_error"' in message  # the frame itself is listed


async def test_expect_error_when_the_answer_is_a_reply_fails() -> None:
    async with SocketClient(Lobby.socket) as client:
        with pytest.raises(UnexpectedFrame, match="it is a reply"):
            await client.expect_error("validation_error", "ECHO")


# -- absence, order, failures ------------------------------------------------------------------------


async def test_assert_nothing_fails_on_an_unread_frame() -> None:
    async with SocketClient(Lobby.socket) as client:
        with pytest.raises(UnexpectedFrame, match=r"1 arrived unread") as caught:
            await client.assert_nothing()
        assert '1. {"type": "WELCOME"}  (unread)' in str(caught.value)
        await client.receive()
        await client.assert_nothing()


async def test_receive_event_keeps_the_frames_it_skips_in_order() -> None:
    async with SocketClient(Lobby.socket) as client:
        await client.send({"type": "ECHO", "text": "one"})
        await client.send({"type": "ECHO", "text": "two"})
        await client.send({"type": "GAME_OVER"})
        assert await client.receive_event("GAME") == {"type": "GAME", "action": "OVER"}
        assert client.unread == [
            {"type": "WELCOME"},
            {"type": "ECHOED", "got": "one"},
            {"type": "ECHOED", "got": "two"},
        ]
        assert await client.receive_event("ECHOED") == {"type": "ECHOED", "got": "one"}
        assert await client.receive() == {"type": "WELCOME"}
        assert await client.receive() == {"type": "ECHOED", "got": "two"}
        await client.assert_nothing()


async def test_a_reply_that_never_comes_times_out_listing_the_frames_seen() -> None:
    async with SocketClient(Chat, timeout=0.5) as client:
        with pytest.raises(FrameTimeout) as caught:
            await client.request("slow")
        message = str(caught.value)
        assert "the answer to 'slow'" in message and "did not arrive within 0.5 s" in message
        assert '1. {"event": "busy"}  (unread)' in message
        # The consumer still runs: the conversation goes on.
        assert (await client.request("say", text="still here"))["event"] == "sent"


async def test_a_socket_closed_mid_request_is_reported_with_its_code() -> None:
    async with SocketClient(Chat) as client:
        with pytest.raises(SocketClosed) as caught:
            await client.request("leave")
        assert caught.value.code == 4000
        assert "the answer to 'leave'" in str(caught.value) and "code 4000" in str(caught.value)
        assert client.close_code == 4000
        assert await client.expect_close(4000) == 4000


async def test_expect_close_with_another_code_fails() -> None:
    async with SocketClient(Chat) as client:
        await client.send({"event": "leave"})
        with pytest.raises(SocketClosed, match="expected the server to close with code 1000, it closed with 4000"):
            await client.expect_close(1000)


@pytest.mark.parametrize(
    ("sent", "shown"),
    [("text", "'this is not JSON'"), ("list", "'[1, 2]'"), ("bytes", r"b'\x00\x01'")],
)
async def test_frames_that_are_not_json_objects_fail_clearly(sent: str, shown: str) -> None:
    async with SocketClient(Raw.as_asgi()) as client:
        await client.send_text(sent)
        with pytest.raises(UnexpectedFrame, match="not a JSON object") as caught:
            await client.receive()
        assert f"1. {shown}" in str(caught.value)
        assert await client.receive_event("after") == {"type": "after"}  # and the client reads on


async def test_an_application_that_crashes_is_reraised() -> None:
    async def crashing(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        raise RuntimeError("boom")

    client = await SocketClient(crashing).connect()
    await client.send_text("x")
    with pytest.raises(RuntimeError, match="boom"):
        await client.receive()
    await client.close()


async def test_not_connected_is_a_clear_error() -> None:
    client = SocketClient(Chat)
    with pytest.raises(RuntimeError, match="not connected"):
        await client.request("say", text="x")
    with pytest.raises(TypeError, match="a URL path, a consumer class or an ASGI application"):
        SocketClient(42)


# -- the fixture ---------------------------------------------------------------------------------------


async def test_socket_client_fixture_opens_and_closes_clients(socket_client: SocketClients) -> None:
    carol = await make_user("carol")
    client = await socket_client(Chat, "/ws/chat/", user=carol)
    watcher = await socket_client(Lobby.socket)
    assert (await client.request("whoami"))["user"] == "carol"
    assert await Socket.objects.filter(user=carol).aexists()
    assert await watcher.receive_event("WELCOME")
    assert socket_client.clients == [client, watcher]


# -- the handshake ------------------------------------------------------------------------------------


async def show_scope(scope: Any, receive: Any, send: Any) -> None:
    """Accepts, sends what the middleware made of the handshake, then waits for the disconnect."""
    await receive()
    await send({"type": "websocket.accept"})
    user = scope.get("user")
    shown = {
        "type": "SCOPE",
        "origin": dict(scope["headers"]).get(b"origin", b"").decode() or None,
        "cookies": sorted(scope.get("cookies", {})),
        "user": user.get_username() if user is not None and user.is_authenticated else None,
        "client": scope.get("client"),
    }
    await send({"type": "websocket.send", "text": json.dumps(shown)})
    while (await receive())["type"] != "websocket.disconnect":
        pass


@pytest.mark.parametrize(
    "engine",
    [
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cache",
        "django.contrib.sessions.backends.signed_cookies",
    ],
)
async def test_the_login_works_with_every_session_engine(engine: str) -> None:
    dora = await make_user("dora")
    with override_settings(SESSION_ENGINE=engine):
        async with SocketClient(show_scope, auth=True, user=dora) as client:
            shown = await client.receive_event("SCOPE")
    assert shown["user"] == "dora"


async def test_handshake_headers_scope_and_an_existing_cookie() -> None:
    erin = await make_user("erin")
    headers = [(b"cookie", b"theme=dark")]
    async with SocketClient(show_scope, auth=True, user=erin, headers=headers, scope={"client": ["10.0.0.1", 5]}) as c:
        shown = await c.receive_event("SCOPE")
    assert shown["user"] == "erin"  # the session cookie joined the existing cookie header
    assert shown["cookies"] == ["sessionid", "theme"]
    assert shown["origin"] == "http://testserver"  # ALLOWED_HOSTS is ["*"]: Django's test host
    assert shown["client"] == ["10.0.0.1", 5]
    async with SocketClient(show_scope, auth=True, headers=[(b"origin", b"https://mine.example")]) as own:
        assert (await own.receive_event("SCOPE"))["origin"] == "https://mine.example"  # a given Origin wins
    async with SocketClient(show_scope, origin=None) as none:
        assert (await none.receive_event("SCOPE"))["origin"] is None


async def test_assert_nothing_after_a_close_still_sees_a_late_frame() -> None:
    async def closes_then_talks(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        await send({"type": "websocket.close", "code": 4000})
        await send({"type": "websocket.send", "text": '{"type": "LATE"}'})
        await receive()

    async with SocketClient(closes_then_talks) as client:
        await client.send_text("go")
        assert await client.expect_close(4000) == 4000
        with pytest.raises(UnexpectedFrame, match="then sent"):
            await client.assert_nothing()


async def test_concurrent_requests_each_get_their_own_reply() -> None:
    async with SocketClient(Lobby.socket) as client:
        replies = await asyncio.gather(*(client.request("ECHO", text=str(n)) for n in range(5)))
        assert [reply["got"] for reply in replies] == ["0", "1", "2", "3", "4"]
        assert len({reply["ref"] for reply in replies}) == 5
        assert await client.receive() == {"type": "WELCOME"}
        await client.assert_nothing()


async def test_channels_closes_old_connections_again_once_every_client_is_closed() -> None:
    import channels.db

    # What was there before (Django's close_old_connections, unless a WebsocketCommunicator of
    # an earlier test left its no-op behind: two of them waiting at once restore each other's
    # patch in the wrong order) is what must come back.
    close_old_connections = channels.db.close_old_connections
    first = await SocketClient(Lobby.socket).connect()
    async with SocketClient(Lobby.socket):
        assert channels.db.close_old_connections is not close_old_connections
    assert channels.db.close_old_connections is not close_old_connections  # the first is still open
    await first.close()
    assert channels.db.close_old_connections is close_old_connections
