from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest

from wsroute_django.models import Socket, SocketGroup, TopicMember

if TYPE_CHECKING:
    _InlineBase = admin.TabularInline[SocketGroup, Socket]
    _TopicInlineBase = admin.TabularInline[TopicMember, Socket]
    _AdminBase = admin.ModelAdmin[Socket]
else:  # the admin classes are generic only in django-stubs; subscripting them fails at runtime
    _InlineBase = _TopicInlineBase = admin.TabularInline
    _AdminBase = admin.ModelAdmin

#: the row's session (its key logs in as the user): never shown, searched or filtered on
SECRET_FIELDS = frozenset({"session", "session_id", "session_key"})


class SocketGroupInline(_InlineBase):
    model = SocketGroup
    extra = 0
    can_delete = False
    readonly_fields = ("name",)


class TopicMemberInline(_TopicInlineBase):
    model = TopicMember
    extra = 0
    can_delete = False
    readonly_fields = ("topic", "key", "meta", "joined_at")
    fields = readonly_fields


@admin.register(Socket)
class SocketAdmin(_AdminBase):
    """Live connections, read-only: rows belong to the consumers that wrote them.

    The session key is not shown anywhere, to anyone: pasted into a cookie it logs in as
    the socket's user. ``fields`` lists what the view page shows (so a field added to the
    model stays hidden until it is listed here), and ``lookup_allowed`` refuses URL filters
    on the session (``?session_key__startswith=...`` would reveal it a character at a time).
    """

    list_display = ("path", "user", "user_ip", "connected_at", "last_ping", "server")
    list_filter = ("path", "server")
    search_fields = ("path", "channel_name", "user__username")
    fields = ("channel_name", "path", "user", "user_ip", "server", "connected_at", "last_ping", "active")
    readonly_fields = fields
    inlines = (SocketGroupInline, TopicMemberInline)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if lookup.split(LOOKUP_SEP, 1)[0] in SECRET_FIELDS:
            return False
        if request is None:  # Django 4.2 passes no request
            return super().lookup_allowed(lookup, value)  # type: ignore[call-arg]
        return super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
