"""The public surface of ``wsroute``: ``__all__`` is sorted and every name in it imports."""

from __future__ import annotations

import importlib
import re

import pytest

import wsroute


def isort_style_key(name: str) -> tuple[int, list[str | int]]:
    """The order ruff's RUF022 enforces on ``__all__``.

    SCREAMING_SNAKE_CASE names first, then CamelCase, then everything else; a natural sort
    (digit runs compared as numbers) within each group.
    """
    if len(name) > 1 and name.upper() == name and name.lower() != name:
        group = 0
    elif name[:1].isupper():
        group = 1
    else:
        group = 2
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name) if part]
    return group, natural


@pytest.mark.parametrize("module_name", ["wsroute", "wsroute.contrib"])
def test_all_is_sorted(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__all__ == sorted(module.__all__, key=isort_style_key)


@pytest.mark.parametrize("module_name", ["wsroute", "wsroute.contrib"])
def test_all_has_no_duplicates(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert len(set(module.__all__)) == len(module.__all__)


PUBLIC_NAMES = [
    (module_name, name)
    for module_name in ("wsroute", "wsroute.contrib")
    for name in importlib.import_module(module_name).__all__
]


@pytest.mark.parametrize(("module_name", "name"), PUBLIC_NAMES)
def test_every_public_name_is_importable(module_name: str, name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {module_name} import {name}", namespace)
    assert namespace[name] is getattr(importlib.import_module(module_name), name)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from wsroute import *", namespace)
    namespace.pop("__builtins__", None)
    assert sorted(namespace) == sorted(wsroute.__all__)


def test_version() -> None:
    assert isinstance(wsroute.__version__, str)
    assert wsroute.__version__


@pytest.mark.parametrize(
    "name",
    ["Connection", "Envelope", "HandlerSpec", "Pipeline", "decode", "error_frame", "reply_frame", "thread_runner"],
)
def test_internal_names_stay_importable_but_out_of_all(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from wsroute import {name}", namespace)
    assert name not in wsroute.__all__


def test_wsroute_django_exports_come_from_one_list() -> None:
    import ast
    from pathlib import Path

    import wsroute_django

    lazy = wsroute_django._LAZY
    assert wsroute_django.__all__ == ["DROP", "Forbidden", "Join", "Reject", *lazy]
    source = Path(wsroute_django.__file__).read_text()
    checked = {
        alias.name: node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("wsroute_django.")
        for alias in node.names
    }
    assert checked == lazy, "the TYPE_CHECKING imports must name the same modules as _LAZY"
    for name in wsroute_django.__all__:
        namespace: dict[str, object] = {}
        exec(f"from wsroute_django import {name}", namespace)
        assert namespace[name] is getattr(wsroute_django, name)
    assert set(wsroute_django.__all__) <= set(dir(wsroute_django))


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("wsroute_django.router", "SocketRouter", "wsroute_django.socket_router"),
        ("wsroute_django.routed", "RoutedSocketHandler", "wsroute_django.routed_socket_handler"),
        ("wsroute_django.presence", "heartbeat", "wsroute_django.rows"),
        ("wsroute_django.presence", "Heartbeat", "wsroute_django.rows"),
        ("wsroute_django.presence", "open_row", "wsroute_django.rows"),
        ("wsroute_django.presence", "prune_stale", "wsroute_django.rows"),
        ("wsroute_django.groups", "DELIVER", "wsroute_django.layer"),
        ("wsroute_django.groups", "SEND", "wsroute_django.layer"),
    ],
)
def test_names_that_moved_still_import_from_their_old_home(old: str, name: str, new: str) -> None:
    assert getattr(importlib.import_module(old), name) is getattr(importlib.import_module(new), name)


def test_the_ping_handler_keeps_its_old_name() -> None:
    from wsroute_django import RoutedSocketHandler

    assert RoutedSocketHandler.heartbeat is RoutedSocketHandler.answer_ping
    assert dict(RoutedSocketHandler.routes)["PING"] == "answer_ping"
