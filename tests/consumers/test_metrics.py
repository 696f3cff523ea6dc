"""Prometheus metrics (WSROUTE["METRICS"]): what they count, and that they cost nothing when off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from pydantic import BaseModel

from tests.consumers.conftest import Connect
from wsroute import Forbidden
from wsroute_django import JSONWebSocket

prometheus_client = pytest.importorskip("prometheus_client", reason="the wsroute[metrics] extra")
REGISTRY = prometheus_client.REGISTRY


class Move(BaseModel):
    event: str
    cell: int


class Game(JSONWebSocket):
    async def on_move(self, event: Move) -> dict[str, Any]:
        return {"event": "moved", "cell": event.cell}

    async def on_cheat(self, event: dict[str, Any]) -> None:
        raise Forbidden("no")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """Metric values now, to compare with later ones."""

    def __init__(self, *names: tuple[str, dict[str, str]]) -> None:
        self.before = {(name, tuple(sorted(labels.items()))): sample(name, **labels) for name, labels in names}

    def __call__(self, name: str, **labels: str) -> float:
        return sample(name, **labels) - self.before.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_on() -> Iterator[None]:
    with override_settings(WSROUTE={"PERSIST": False, "METRICS": True}):
        yield


WATCHED = (
    ("wsroute_frames_total", {"route": "move", "outcome": "ok"}),
    ("wsroute_frames_total", {"route": "move", "outcome": "validation_error"}),
    ("wsroute_frames_total", {"route": "cheat", "outcome": "forbidden"}),
    ("wsroute_frames_total", {"route": "(none)", "outcome": "unknown_type"}),
    ("wsroute_frames_total", {"route": "(none)", "outcome": "bad_json"}),
    ("wsroute_handler_duration_seconds_count", {"route": "move"}),
    ("wsroute_connections_opened_total", {}),
    ("wsroute_connections_open", {}),
    ("wsroute_connections_closed_total", {"code": "1000"}),
)


async def test_frames_connections_and_latency_are_counted(connect: Connect, metrics_on: None) -> None:
    delta = Delta(*WATCHED)
    client = await connect(Game.as_asgi())
    assert delta("wsroute_connections_open") == 1
    assert await client.ask({"event": "move", "cell": 4}) == {"event": "moved", "cell": 4}
    assert (await client.ask({"event": "move", "cell": "x"}))["code"] == "validation_error"
    assert (await client.ask({"event": "cheat"}))["code"] == "forbidden"
    assert (await client.ask({"event": "nope-" + "x" * 500}))["code"] == "unknown_type"
    await client.send_text("{")
    assert (await client.recv())["code"] == "bad_json"
    await client.disconnect(1000)

    assert delta("wsroute_frames_total", route="move", outcome="ok") == 1
    assert delta("wsroute_frames_total", route="move", outcome="validation_error") == 1
    assert delta("wsroute_frames_total", route="cheat", outcome="forbidden") == 1
    # what the client sent never becomes a label: an unknown type counts under (none)
    assert delta("wsroute_frames_total", route="(none)", outcome="unknown_type") == 1
    assert delta("wsroute_frames_total", route="(none)", outcome="bad_json") == 1
    assert delta("wsroute_handler_duration_seconds_count", route="move") == 1
    assert delta("wsroute_connections_opened_total") == 1
    assert delta("wsroute_connections_open") == 0
    assert delta("wsroute_connections_closed_total", code="1000") == 1


async def test_off_by_default_and_then_nothing_is_counted(connect: Connect) -> None:
    delta = Delta(*WATCHED)
    client = await connect(Game.as_asgi())
    assert await client.ask({"event": "move", "cell": 1}) == {"event": "moved", "cell": 1}
    await client.disconnect(1000)
    assert all(delta(name, **labels) == 0 for name, labels in WATCHED)


def test_the_view_serves_the_text_format(metrics_on: None, rf: Any) -> None:
    from wsroute_django.metrics import get_metrics, metrics_view

    assert get_metrics() is not None
    response = metrics_view(rf.get("/metrics/"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"wsroute_connections_open" in response.content


def test_the_documented_url_serves_the_metrics(metrics_on: None, rf: Any) -> None:
    import importlib.util

    from tests.test_docs import ROOT
    from wsroute_django.metrics import get_metrics

    spec = importlib.util.spec_from_file_location("metrics_example", ROOT / "docs/src/django/metrics_example.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.WSROUTE == {"METRICS": True}
    (pattern,) = module.urlpatterns
    match = pattern.resolve("internal/metrics/")
    assert match is not None
    get_metrics()
    assert b"wsroute_connections_open " in match.func(rf.get("/internal/metrics/")).content


@pytest.mark.django_db(transaction=True)
async def test_rows_pruned_by_the_sweep_are_counted(metrics_on: None) -> None:
    from datetime import timedelta

    from asgiref.sync import sync_to_async
    from django.utils import timezone

    from wsroute_django.models import Socket
    from wsroute_django.rows import sweep

    delta = Delta(("wsroute_rows_pruned_total", {}))
    old = timezone.now() - timedelta(hours=1)
    for n in range(3):
        await sync_to_async(Socket.objects.create)(channel_name=f"dead.{n}", path="/ws/", last_ping=old, server="gone")
    assert len(await sweep()) == 3
    assert delta("wsroute_rows_pruned_total") == 3
