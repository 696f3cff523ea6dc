"""Group names and the channel-layer messages wsroute sends between consumers.

User payloads are nested under ``payload`` so their keys never collide with the layer's
own ``type``; each receiving consumer builds the client frame with its own routing key.
"""

from __future__ import annotations

import re
from typing import Any, Final

from wsroute import WsrouteError

__all__ = ["CALL", "CLOSE", "DELIVER", "SEND", "InvalidGroupName", "check_group_name"]

#: deliver ``{<routing key>: event, **payload}`` to the client
DELIVER: Final = "wsroute.deliver"
#: run the consumer's route for ``event`` server-side, sending nothing
CALL: Final = "wsroute.call"
#: send ``frame`` to the client as it is
SEND: Final = "wsroute.send"
#: close the socket with ``code``
CLOSE: Final = "wsroute.close"

_GROUP_NAME = re.compile(r"[a-zA-Z0-9._-]{1,99}")


class InvalidGroupName(WsrouteError, ValueError):
    """A group name the channel layer would refuse."""


def check_group_name(name: Any) -> str:
    if not isinstance(name, str) or _GROUP_NAME.fullmatch(name) is None:
        raise InvalidGroupName(
            f"invalid group name {name!r}: use 1-99 ASCII letters, digits, '.', '_' or '-' "
            "(for user input, e.g. a room name, slugify or hash it first)"
        )
    return name
