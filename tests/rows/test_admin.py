"""The Socket admin never shows a session key: pasted into a cookie, it logs in as the socket's user."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.base import SessionBase
from django.test import Client

from tests.rows.conftest import TIMEOUT, Sockets, make_user, only_row
from wsroute_django import JSONWebSocket
from wsroute_django.models import Socket, TopicMember

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/wsroute/socket/"


class Lobby(JSONWebSocket):
    persist = True

    async def on_join(self, event: dict[str, Any]) -> dict[str, Any]:
        await self.group_add("players")
        return {"event": "joined"}


async def logged_in_socket(sockets: Sockets, user: Any) -> tuple[Socket, str]:
    """A live socket of ``user`` with a database session, in group ``players``: its row, its key."""
    session: SessionBase = import_module("django.contrib.sessions.backends.db").SessionStore()
    session["_auth_user_id"] = str(user.pk)
    await database_sync_to_async(session.save)()
    communicator = await sockets.connect(Lobby, "/lobby/", user=user, session=session)
    await communicator.send_json_to({"event": "join"})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"event": "joined"}
    row = await only_row(user=user)
    key = session.session_key
    assert key and row.session_key == key and row.session_id == key  # what the admin must not show
    return row, key


async def admin_client(*, superuser: bool) -> Client:
    """A logged-in admin client: a superuser, or staff allowed only to view sockets."""

    def make() -> Client:
        from django.contrib.auth import get_user_model

        users = get_user_model().objects
        if superuser:
            staff = users.create_superuser(username="root", email="root@example.com", password=None)
        else:
            staff = users.create_user(username="viewer", is_staff=True)
            staff.user_permissions.add(Permission.objects.get(codename="view_socket"))
        client = Client()
        client.force_login(staff)
        return client

    return await database_sync_to_async(make)()


async def get(client: Client, url: str, **params: str) -> Any:
    return await sync_to_async(client.get)(url, params)


@pytest.mark.parametrize("superuser", [False, True], ids=["view-only staff", "superuser"])
async def test_no_admin_page_shows_the_session_key(sockets: Sockets, superuser: bool) -> None:
    user = await make_user("ada")
    row, key = await logged_in_socket(sockets, user)
    client = await admin_client(superuser=superuser)
    link = f"{CHANGELIST}{row.pk}/change/"

    # (the changelist links to the row; the view page shows its channel name)
    for name, url, shows_the_row in [("changelist", CHANGELIST, link), ("view page", link, row.channel_name)]:
        response = await get(client, url)
        html = response.content.decode()
        assert response.status_code == 200, name
        assert shows_the_row in html, f"{name}: the row itself is not shown"
        assert key not in html, f"{name} shows the session key"
        assert "session" not in html.lower().replace("sessionid", ""), f"{name} shows a session field"
    if superuser:
        await TopicMember.objects.acreate(socket=row, topic="room:1", key=f"user:{user.pk}", meta={"name": "ada"})
        page = (await get(client, link)).content.decode()
        assert "players" in page  # the group inline is still there
        assert "room:1" in page  # and the topic memberships
        assert key not in page
        history = await get(client, f"{CHANGELIST}{row.pk}/history/")
        delete = await get(client, f"{CHANGELIST}{row.pk}/delete/")
        assert (history.status_code, delete.status_code) == (200, 200)
        assert key not in history.content.decode() and key not in delete.content.decode()


@pytest.mark.parametrize("superuser", [False, True], ids=["view-only staff", "superuser"])
async def test_the_admin_cannot_find_sockets_by_session_key(sockets: Sockets, superuser: bool) -> None:
    user = await make_user("ada")
    row, key = await logged_in_socket(sockets, user)
    client = await admin_client(superuser=superuser)
    link = f"{CHANGELIST}{row.pk}/change/"

    found = await get(client, CHANGELIST, q="/lobby/")
    assert link in found.content.decode()  # search works...
    for term in (key, key[:12]):
        searched = await get(client, CHANGELIST, q=term)
        assert searched.status_code == 200
        assert link not in searched.content.decode(), "search matched a session key"  # ...not on keys

    # URL filters would reveal the key a character at a time: every one is refused, a right
    # guess and a wrong one alike.
    for lookup in ("session_key", "session_key__startswith", "session", "session__startswith", "session_id__gte"):
        for guess in (key[:1], "#"):
            filtered = await get(client, CHANGELIST, **{lookup: guess})
            assert filtered.status_code == 400, f"?{lookup}={guess} answered {filtered.status_code}"
            assert link not in filtered.content.decode()
    assert (await get(client, CHANGELIST, path="/lobby/")).status_code == 200  # the list_filter still works
