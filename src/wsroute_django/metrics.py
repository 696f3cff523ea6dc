"""Prometheus metrics, with the ``wsroute[metrics]`` extra and ``WSROUTE["METRICS"] = True``.

Off by default, and then free: consumers hold ``None`` and the message path checks nothing
else. On, each process keeps these in ``prometheus_client``'s default registry (names follow
Prometheus and OpenTelemetry conventions: base units, ``_total`` on counters):

===================================================  =========  ===========================
``wsroute_connections_open``                         gauge      sockets open now
``wsroute_connections_opened_total``                 counter    sockets accepted
``wsroute_connections_closed_total{code}``           counter    sockets closed, by close code
``wsroute_frames_total{route,outcome}``              counter    client frames, by route and
                                                                ``ok``/``dropped``/error code
``wsroute_handler_duration_seconds{route}``          histogram  from a frame's arrival to its
                                                                reply, for frames handled ok
``wsroute_layer_errors_total``                       counter    failed channel-layer receives
``wsroute_rows_pruned_total``                        counter    Socket rows the sweep deleted
===================================================  =========  ===========================

``route`` is a route's exact name or regex pattern, ``(default)`` or ``(none)``: labels come
from the route tables, never from what a client sent, so their number stays bounded.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import TYPE_CHECKING, Any

from wsroute_django.conf import get_settings

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

__all__ = ["Metrics", "get_metrics", "metrics_view"]

#: handler latency buckets, seconds: a WebSocket reply is usually well under 100 ms
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    """The process's wsroute metrics; a ``wsroute.Observer`` for the dispatcher."""

    def __init__(self, registry: Any = None) -> None:
        from prometheus_client import REGISTRY, Counter, Gauge, Histogram

        registry = REGISTRY if registry is None else registry
        self.open = Gauge("wsroute_connections_open", "WebSocket connections open now", registry=registry)
        self.opened = Counter("wsroute_connections_opened", "WebSocket connections accepted", registry=registry)
        self.closed = Counter(
            "wsroute_connections_closed", "WebSocket connections closed, by close code", ["code"], registry=registry
        )
        self.frames = Counter(
            "wsroute_frames", "Client frames handled, by route and outcome", ["route", "outcome"], registry=registry
        )
        self.duration = Histogram(
            "wsroute_handler_duration_seconds",
            "Seconds from a client frame's arrival to its reply, for frames handled ok",
            ["route"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.layer_errors = Counter("wsroute_layer_errors", "Channel-layer receives that failed", registry=registry)
        self.rows_pruned = Counter(
            "wsroute_rows_pruned", "Socket rows deleted by the stale-row sweep", registry=registry
        )
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}

    def frame(self, route: str, outcome: str, seconds: float) -> None:
        children = self._children.get((route, outcome))
        if children is None:  # labels() costs a lookup and a lock: once per route and outcome
            duration = self.duration.labels(route) if outcome == "ok" else None
            children = self._children[(route, outcome)] = (self.frames.labels(route, outcome), duration)
        children[0].inc()
        if children[1] is not None:
            children[1].observe(seconds)

    def connection_opened(self) -> None:
        self.opened.inc()
        self.open.inc()

    def connection_closed(self, code: int, was_open: bool) -> None:
        self.closed.labels(str(code)).inc()
        if was_open:
            self.open.dec()


@functools.cache
def _metrics() -> Metrics:
    return Metrics()


def get_metrics() -> Metrics | None:
    """The process's metrics when ``WSROUTE["METRICS"]`` is on (and prometheus_client is
    installed: check wsroute.W003 says when it is not), else ``None``."""
    if not get_settings().METRICS or not _available():
        return None
    return _metrics()


@functools.cache
def _available() -> bool:
    return importlib.util.find_spec("prometheus_client") is not None


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics of this process in Prometheus' text format, for ``urls.py``.

    Serve it to your scraper only (a private network, or a check of ``request`` first)."""
    from django.http import HttpResponse
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
