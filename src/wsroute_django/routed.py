"""The old home of ``RoutedSocketHandler``: import it from ``wsroute_django``."""

from wsroute_django.routed_socket_handler import RoutedSocketHandler

__all__ = ["RoutedSocketHandler"]
