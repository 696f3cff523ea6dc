"""Prometheus metrics: the settings and the URL a scraper reads."""

from __future__ import annotations

from django.urls import path

from wsroute_django.metrics import metrics_view

# --8<-- [start:settings]
WSROUTE = {"METRICS": True}  # pip install "wsroute[metrics]"
# --8<-- [end:settings]

# --8<-- [start:urls]
urlpatterns = [
    # Only for your scraper: keep it off the public internet (a private listener, or a
    # reverse-proxy rule), since it shows your routes and traffic.
    path("internal/metrics/", metrics_view),
]
# --8<-- [end:urls]
