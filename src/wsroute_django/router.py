"""The old home of ``SocketRouter``: import it from ``wsroute_django``."""

from wsroute_django.socket_router import SocketRouter

__all__ = ["SocketRouter"]
