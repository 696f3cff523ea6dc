"""Group names: what the channel layer accepts, checked before it is asked."""

from __future__ import annotations

import re
from typing import Any

from wsroute import WsrouteError
from wsroute_django.layer import CALL, CLOSE, DELIVER, SEND  # their old home; import them from layer

__all__ = ["CALL", "CLOSE", "DELIVER", "SEND", "InvalidGroupName", "check_group_name"]

_GROUP_NAME = re.compile(r"[a-zA-Z0-9._-]{1,99}")


class InvalidGroupName(WsrouteError, ValueError):
    """A group name the channel layer would refuse."""


def check_group_name(name: Any) -> str:
    if not isinstance(name, str) or _GROUP_NAME.fullmatch(name) is None:
        shown = repr(name) if len(repr(name)) <= 120 else repr(name)[:120] + "…"
        raise InvalidGroupName(
            f"invalid group name {shown}: use 1-99 ASCII letters, digits, '.', '_' or '-' "
            "(for user input, e.g. a room name, slugify or hash it first)"
        )
    return name
