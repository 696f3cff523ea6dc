"""Keeping the test's database connection open, and Socket rows on it, while a
``SocketClient`` is connected."""

from __future__ import annotations

from typing import Any

__all__ = ["hold_connections", "release_connections"]

# Channels' database_sync_to_async closes "old" connections before and after every call. In
# a Django TestCase, an async test's sync code runs on the test's own thread, so that would
# close the connection holding the test's transaction. WebsocketCommunicator switches it off
# while it waits; the client switches it off while any client is connected (counted, since
# several clients' waits interleave and nested patches would restore the wrong function).
#
# On PostgreSQL the process's row writer has a connection of its own; in a TestCase the test's
# rows (its users, say) are in a transaction only the test's connection sees, so a Socket row
# pointing at such a user would break its foreign key. While a client is connected, rows are
# written in asgiref's shared thread, on the test's connection, as on SQLite.
_holders = 0
_saved: Any = None
_saved_thread: str | None = None


def hold_connections() -> None:
    global _holders, _saved, _saved_thread
    import channels.db

    from wsroute_django.row_writer import row_writer

    if _holders == 0:
        _saved = channels.db.close_old_connections
        channels.db.close_old_connections = _keep_connections
        _saved_thread, row_writer.thread = row_writer.thread, "shared"
    _holders += 1


def release_connections() -> None:
    global _holders, _saved, _saved_thread
    import channels.db

    from wsroute_django.row_writer import row_writer

    _holders -= 1
    if _holders == 0:
        channels.db.close_old_connections = _saved
        _saved = None
        row_writer.thread, _saved_thread = _saved_thread, None


def _keep_connections() -> None:
    pass
