"""``SocketMiddleware``: the core middleware, presented for consumers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wsroute import Middleware

if TYPE_CHECKING:
    from wsroute_django.consumer import SocketConsumer

__all__ = ["SocketMiddleware"]


class SocketMiddleware(Middleware):
    """Base class for consumer middleware, listed in ``middlewares = [...]``.

    Define any of ``on_connect()``, ``on_receive(content)``, ``on_send(content)`` and
    ``on_disconnect(code)``, sync or async. ``self.consumer`` is the consumer and
    ``self.scope`` its scope::

        class UserGatherMiddleware(SocketMiddleware):
            def on_connect(self):
                self.consumer.name = self.scope["url_route"]["kwargs"]["name"]

    ``on_connect`` runs before the consumer's own hook and may ``raise Reject()`` (4403).
    ``on_receive`` and ``on_send`` return a changed message, ``DROP``, or ``None`` (unchanged).
    """

    consumer: SocketConsumer

    def __init__(self, consumer: Any, scope: Any) -> None:
        super().__init__(consumer, scope)
