from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from wsroute_django.models import Socket, SocketGroup

if TYPE_CHECKING:
    _InlineBase = admin.TabularInline[SocketGroup, Socket]
    _AdminBase = admin.ModelAdmin[Socket]
else:  # the admin classes are generic only in django-stubs; subscripting them fails at runtime
    _InlineBase = admin.TabularInline
    _AdminBase = admin.ModelAdmin


class SocketGroupInline(_InlineBase):
    model = SocketGroup
    extra = 0
    can_delete = False
    readonly_fields = ("name",)


@admin.register(Socket)
class SocketAdmin(_AdminBase):
    """Live connections, read-only: rows belong to the consumers that wrote them."""

    list_display = ("path", "user", "user_ip", "connected_at", "last_ping", "server")
    list_filter = ("path", "server")
    search_fields = ("path", "channel_name", "user__username")
    inlines = (SocketGroupInline,)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
