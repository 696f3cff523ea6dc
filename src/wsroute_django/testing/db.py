"""Keeping the test's database connection open while a ``SocketClient`` is connected."""

from __future__ import annotations

from typing import Any

__all__ = ["hold_connections", "release_connections"]

# Channels' database_sync_to_async closes "old" connections before and after every call. In
# a Django TestCase, an async test's sync code runs on the test's own thread, so that would
# close the connection holding the test's transaction. WebsocketCommunicator switches it off
# while it waits; the client switches it off while any client is connected (counted, since
# several clients' waits interleave and nested patches would restore the wrong function).
_holders = 0
_saved: Any = None


def hold_connections() -> None:
    global _holders, _saved
    import channels.db

    if _holders == 0:
        _saved = channels.db.close_old_connections
        channels.db.close_old_connections = _keep_connections
    _holders += 1


def release_connections() -> None:
    global _holders, _saved
    import channels.db

    _holders -= 1
    if _holders == 0:
        channels.db.close_old_connections = _saved
        _saved = None


def _keep_connections() -> None:
    pass
