"""The test client's own tests run its consumers on the suite's channel layer and database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from channels.layers import get_channel_layer

from wsroute_django import presence


@pytest.fixture(autouse=True)
async def _isolated() -> AsyncIterator[None]:
    """An empty channel layer; afterwards no persisted socket holds the heartbeat."""
    layer = get_channel_layer()
    assert layer is not None
    await layer.flush()
    yield
    await layer.flush()
    leaked = presence.heartbeat.sockets
    if presence.heartbeat.task is not None:
        presence.heartbeat.task.cancel()
        presence.heartbeat.task = None
    presence.heartbeat.sockets = 0
    assert leaked == 0, f"{leaked} persisted socket(s) still hold the heartbeat"
