"""``SocketClients``: opens connected clients and closes them all at the end of a test."""

from __future__ import annotations

from typing import Any

from wsroute_django.testing.client import SocketClient

__all__ = ["SocketClients"]


class SocketClients:
    """``await clients(target, path, **options)`` -> a connected ``SocketClient``.

    Takes ``SocketClient``'s arguments. ``close_all()`` disconnects, newest first, every
    client still open, and re-raises an exception that ended a consumer. The pytest fixture
    ``socket_client`` is one of these.
    """

    def __init__(self) -> None:
        self.clients: list[SocketClient] = []

    async def __call__(self, target: Any, path: str | None = None, **options: Any) -> SocketClient:
        client = SocketClient(target, path, **options)
        await client.connect()
        self.clients.append(client)
        return client

    async def close_all(self) -> None:
        errors: list[BaseException] = []
        while self.clients:
            try:
                await self.clients.pop().close()
            except Exception as exc:  # close the others first
                errors.append(exc)
        if errors:
            raise errors[0]
