"""``WSROUTE`` is checked by Django's system checks: a bad value is a ``manage.py check`` error."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from wsroute_django.checks import (
    check_channel_layer,
    check_connection_reuse,
    check_settings,
    check_sync_workers_on_sqlite,
)
from wsroute_django.conf import DEFAULTS, get_settings


def wsroute_errors(value: Any) -> list[str]:
    with override_settings(WSROUTE=value):
        return [message.id for message in check_settings() if message.id is not None]


def test_the_test_settings_are_clean() -> None:
    assert [message for message in run_checks() if (message.id or "").startswith("wsroute.")] == []
    assert check_settings() == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("PERSIST", ["wsroute.E001"]),
        ([("PERSIST", True)], ["wsroute.E001"]),
        ({"PERSISTS": True}, ["wsroute.E002"]),
        ({"PERSIST": "yes"}, ["wsroute.E003"]),
        ({"PERSIST": 1}, ["wsroute.E003"]),
        ({"HEARTBEAT_INTERVAL": 0}, ["wsroute.E004"]),
        ({"HEARTBEAT_INTERVAL": -1.5}, ["wsroute.E004"]),
        ({"HEARTBEAT_INTERVAL": "30"}, ["wsroute.E004"]),
        ({"HEARTBEAT_INTERVAL": True}, ["wsroute.E004"]),
        ({"STALE_AFTER": 0}, ["wsroute.E004"]),
        ({"HEARTBEAT_INTERVAL": 30, "STALE_AFTER": 30}, ["wsroute.E005"]),
        ({"HEARTBEAT_INTERVAL": 30, "STALE_AFTER": 10}, ["wsroute.E005"]),
        ({"STALE_AFTER": DEFAULTS.HEARTBEAT_INTERVAL}, ["wsroute.E005"]),  # against the default interval
        ({"HEARTBEAT_INTERVAL": DEFAULTS.STALE_AFTER}, ["wsroute.E005"]),  # against the default staleness
        ({"TRUSTED_PROXY_HEADER": ""}, ["wsroute.E006"]),
        ({"TRUSTED_PROXY_HEADER": b"x-forwarded-for"}, ["wsroute.E006"]),
        ({"MAX_MESSAGE_SIZE": 0}, ["wsroute.E007"]),
        ({"MAX_MESSAGE_SIZE": -1}, ["wsroute.E007"]),
        ({"MAX_MESSAGE_SIZE": 1.5}, ["wsroute.E007"]),
        ({"MAX_MESSAGE_SIZE": "1MB"}, ["wsroute.E007"]),
        ({"MAX_MESSAGE_SIZE": True}, ["wsroute.E007"]),
        ({"PERSISTS": True, "MAX_MESSAGE_SIZE": 0}, ["wsroute.E002", "wsroute.E007"]),
        ({"SYNC_WORKERS": 0}, ["wsroute.E009"]),
        ({"SYNC_WORKERS": True}, ["wsroute.E009"]),
        ({"SYNC_WORKERS": "8"}, ["wsroute.E009"]),
        ({"SYNC_WORKERS": 2.0}, ["wsroute.E009"]),
    ],
)
def test_bad_values_are_errors(value: Any, expected: list[str]) -> None:
    assert wsroute_errors(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"PERSIST": True},
        {"PERSIST": False, "HEARTBEAT_INTERVAL": 0.05, "STALE_AFTER": 0.2},
        {"HEARTBEAT_INTERVAL": 10},
        {"TRUSTED_PROXY_HEADER": "x-forwarded-for"},
        {"TRUSTED_PROXY_HEADER": None, "MAX_MESSAGE_SIZE": None},
        {"MAX_MESSAGE_SIZE": 4096},
    ],
)
def test_good_values_pass(value: dict[str, Any]) -> None:
    assert wsroute_errors(value) == []


def test_messages_say_what_is_wrong() -> None:
    with override_settings(WSROUTE={"PERSISTS": True}):
        [error] = check_settings()
    assert "PERSISTS" in error.msg
    assert error.hint is not None
    assert "PERSIST" in error.hint
    assert error.obj == "settings.WSROUTE"
    assert error.is_serious()


def test_registered_checks_report_through_manage_py_check() -> None:
    with override_settings(WSROUTE={"PERSIST": "yes"}):
        assert "wsroute.E003" in [message.id for message in run_checks()]
        with pytest.raises(SystemCheckError, match=r"wsroute\.E003"):
            call_command("check", stdout=io.StringIO())
    call_command("check", stdout=io.StringIO())


def test_settings_are_reread_when_overridden() -> None:
    assert get_settings().PERSIST is False  # tests/settings.py
    with override_settings(WSROUTE={"PERSIST": True, "STALE_AFTER": 120}):
        assert (get_settings().PERSIST, get_settings().STALE_AFTER) == (True, 120)
        assert get_settings().HEARTBEAT_INTERVAL == DEFAULTS.HEARTBEAT_INTERVAL
    assert get_settings().PERSIST is False
    assert get_settings().STALE_AFTER == DEFAULTS.STALE_AFTER


def test_rows_without_connection_reuse_are_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    default = settings.DATABASES["default"]
    monkeypatch.setitem(default, "CONN_MAX_AGE", 0)
    with override_settings(WSROUTE={"PERSIST": True}):
        assert [warning.id for warning in check_connection_reuse()] == ["wsroute.W001"]
    with override_settings(WSROUTE={"PERSIST": False}):
        assert check_connection_reuse() == []
    monkeypatch.setitem(default, "CONN_MAX_AGE", 60)
    with override_settings(WSROUTE={"PERSIST": True}):
        assert check_connection_reuse() == []


def test_rows_without_a_channel_layer_are_a_warning() -> None:
    with override_settings(WSROUTE={"PERSIST": True}, CHANNEL_LAYERS={}):
        assert [warning.id for warning in check_channel_layer()] == ["wsroute.W002"]
    with override_settings(WSROUTE={"PERSIST": False}, CHANNEL_LAYERS={}):
        assert check_channel_layer() == []
    with override_settings(WSROUTE={"PERSIST": True}):
        assert check_channel_layer() == []


def test_a_sync_pool_on_sqlite_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    default = settings.DATABASES["default"]
    monkeypatch.setitem(default, "ENGINE", "django.db.backends.sqlite3")
    with override_settings(WSROUTE={"SYNC_WORKERS": 4}):
        assert [warning.id for warning in check_sync_workers_on_sqlite()] == ["wsroute.W004"]
    for fine in (None, 1):
        with override_settings(WSROUTE={"SYNC_WORKERS": fine}):
            assert check_sync_workers_on_sqlite() == []
    monkeypatch.setitem(default, "ENGINE", "django.db.backends.postgresql")
    with override_settings(WSROUTE={"SYNC_WORKERS": 8}):
        assert check_sync_workers_on_sqlite() == []
