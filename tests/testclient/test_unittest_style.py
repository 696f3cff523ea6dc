"""``SocketClient`` in Django's own test classes, with async test methods.

Django runs an async test method through ``async_to_sync``, so the consumer's database work
(``database_sync_to_async``) runs on the test's own thread and connection: in a ``TestCase``
it sees, and is rolled back with, the test's transaction.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import TestCase, TransactionTestCase

from tests.testclient.consumers import Chat, Lobby
from wsroute_django.models import Socket
from wsroute_django.testing import ErrorReply, SocketClient


class Conversation:
    """The same test in both classes."""

    async def test_a_logged_in_user_talks_to_both_styles(self) -> None:
        alice = await get_user_model().objects.acreate(username="alice")
        async with SocketClient(Chat, "/ws/chat/", user=alice) as chat, SocketClient(Lobby.socket) as lobby:
            me = await chat.request("whoami")
            assert me["user"] == "alice"
            assert me["row_user_id"] == alice.pk
            assert await Socket.objects.filter(user=alice).acount() == 1
            assert (await chat.request("say", text="hi"))["event"] == "sent"
            assert await chat.receive_event("said") == {"event": "said", "text": "hi"}
            with self.assertRaises(ErrorReply):  # type: ignore[attr-defined]
                await chat.request("say", text="")
            assert await lobby.receive_event("WELCOME") == {"type": "WELCOME"}
            assert (await lobby.request("ECHO", text="x"))["got"] == "x"
        assert await Socket.objects.acount() == 0


class InTransactionTestCase(Conversation, TransactionTestCase):
    pass


class InTestCase(Conversation, TestCase):
    pass
