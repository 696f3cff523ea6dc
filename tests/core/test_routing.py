"""Routing rules: exact, then regexes in order with fullmatch, then default."""

from __future__ import annotations

import re
from typing import Any

import pytest

from wsroute import ConfigError, DuplicateRouteError, Route, RouteTable, RouteTableBuilder


def on_exact(socket: Any, content: dict[str, Any]) -> None:
    pass


def on_pattern(socket: Any, content: dict[str, Any]) -> None:
    pass


def on_other_pattern(socket: Any, content: dict[str, Any]) -> None:
    pass


def on_default(socket: Any, content: dict[str, Any] | None = None) -> None:
    pass


def first_handler(socket: Any, content: dict[str, Any]) -> None:
    pass


def second_handler(socket: Any, content: dict[str, Any]) -> None:
    pass


def handler_of(table: RouteTable, key: str) -> Any:
    resolved = table.resolve(key)
    assert resolved is not None, f"{key!r} did not route"
    return resolved[0].handler.fn


# --- resolution order ---------------------------------------------------------------------


def test_exact_name_routes() -> None:
    builder = RouteTableBuilder()
    builder.add("chat", on_exact)
    table = builder.build()
    route, match = table.resolve("chat")  # type: ignore[misc]
    assert route.handler.fn is on_exact
    assert route.key == "chat"
    assert match is None


def test_exact_names_win_over_regexes_declared_earlier() -> None:
    builder = RouteTableBuilder()
    builder.add(re.compile(r"GAME_.+"), on_pattern)
    builder.add("GAME_START", on_exact)
    table = builder.build()
    assert handler_of(table, "GAME_START") is on_exact
    assert handler_of(table, "GAME_OVER") is on_pattern


def test_regexes_are_tried_in_declaration_order() -> None:
    builder = RouteTableBuilder()
    builder.add(re.compile(r"chat\..+"), on_pattern)
    builder.add(re.compile(r"chat\.private"), on_other_pattern)
    table = builder.build()
    # both match; the first declared wins
    assert handler_of(table, "chat.private") is on_pattern

    reverse = RouteTableBuilder()
    reverse.add(re.compile(r"chat\.private"), on_other_pattern)
    reverse.add(re.compile(r"chat\..+"), on_pattern)
    assert handler_of(reverse.build(), "chat.private") is on_other_pattern


@pytest.mark.parametrize("key", ["game_over", "xgame", "agame_b", "game\n", "GAME"])
def test_regex_routes_use_fullmatch_not_search_or_match(key: str) -> None:
    builder = RouteTableBuilder()
    builder.add(re.compile(r"game"), on_pattern)
    table = builder.build()
    assert table.resolve("game") is not None
    assert table.resolve(key) is None


def test_resolve_returns_the_regex_match() -> None:
    builder = RouteTableBuilder()
    builder.add(re.compile(r"room\.(?P<room>\w+)\.(\d+)"), on_pattern)
    resolved = builder.build().resolve("room.lobby.42")
    assert resolved is not None
    route, match = resolved
    assert route.handler.fn is on_pattern
    assert isinstance(match, re.Match)
    assert match["room"] == "lobby"
    assert match[2] == "42"
    assert match.string == "room.lobby.42"


def test_regex_flags_are_honoured() -> None:
    builder = RouteTableBuilder()
    builder.add(re.compile(r"ping", re.IGNORECASE), on_pattern)
    assert handler_of(builder.build(), "PiNg") is on_pattern


def test_default_route_when_nothing_else_matches() -> None:
    builder = RouteTableBuilder()
    builder.add("chat", on_exact)
    builder.add(re.compile(r"game\..+"), on_pattern)
    builder.set_default(on_default)
    table = builder.build()
    assert handler_of(table, "chat") is on_exact
    assert handler_of(table, "game.start") is on_pattern
    route, match = table.resolve("anything else")  # type: ignore[misc]
    assert route.handler.fn is on_default
    assert route.key is None
    assert match is None


def test_no_route_and_no_default_resolves_to_none() -> None:
    builder = RouteTableBuilder()
    builder.add("chat", on_exact)
    builder.add(re.compile(r"game\..+"), on_pattern)
    table = builder.build()
    assert table.resolve("other") is None
    assert table.resolve("") is None


def test_a_bare_string_is_an_exact_name_never_a_regex() -> None:
    builder = RouteTableBuilder()
    builder.add("GAME_.+", on_exact)
    table = builder.build()
    assert table.resolve("GAME_START") is None
    assert handler_of(table, "GAME_.+") is on_exact
    assert table.patterns == ()


def test_many_exact_routes_all_resolve() -> None:
    builder = RouteTableBuilder()
    for i in range(10_000):
        builder.add(f"event_{i}", on_exact)
    table = builder.build()
    assert len(table) == 10_000
    assert handler_of(table, "event_0") is on_exact
    assert handler_of(table, "event_9999") is on_exact
    assert table.resolve("event_10000") is None


def test_table_iterates_exact_then_patterns_then_default() -> None:
    builder = RouteTableBuilder()
    builder.set_default(on_default)
    builder.add(re.compile("p"), on_pattern)
    builder.add("e", on_exact)
    table = builder.build()
    assert [route.handler.fn for route in table] == [on_exact, on_pattern, on_default]
    assert len(table) == 3
    assert all(isinstance(route, Route) for route in table)


def test_add_all_declares_each_pair() -> None:
    builder = RouteTableBuilder()
    builder.add_all([("a", on_exact), (re.compile("b+"), on_pattern)])
    table = builder.build()
    assert handler_of(table, "a") is on_exact
    assert handler_of(table, "bbb") is on_pattern


# --- duplicates ---------------------------------------------------------------------------


def test_duplicate_exact_name_names_both_handlers() -> None:
    builder = RouteTableBuilder(owner="ChatConsumer")
    builder.add("chat", first_handler)
    with pytest.raises(DuplicateRouteError) as info:
        builder.add("chat", second_handler)
    message = str(info.value)
    assert first_handler.__qualname__ in message
    assert second_handler.__qualname__ in message
    assert "'chat'" in message
    assert "ChatConsumer" in message


def test_duplicate_route_error_is_a_config_error() -> None:
    assert issubclass(DuplicateRouteError, ConfigError)


def test_duplicate_exact_name_names_methods_by_qualname() -> None:
    class Consumer:
        def on_a(self, event: dict[str, Any]) -> None:
            pass

        def on_b(self, event: dict[str, Any]) -> None:
            pass

    builder = RouteTableBuilder()
    builder.add("x", Consumer.on_a)
    with pytest.raises(DuplicateRouteError) as info:
        builder.add("x", Consumer.on_b)
    assert Consumer.on_a.__qualname__ in str(info.value)
    assert Consumer.on_b.__qualname__ in str(info.value)


def test_duplicate_regex_is_an_error() -> None:
    builder = RouteTableBuilder()
    builder.add(re.compile(r"game\..+"), first_handler)
    with pytest.raises(DuplicateRouteError) as info:
        builder.add(re.compile(r"game\..+"), second_handler)
    assert first_handler.__qualname__ in str(info.value)
    assert second_handler.__qualname__ in str(info.value)


def test_same_pattern_with_other_flags_is_another_route() -> None:
    builder = RouteTableBuilder()
    builder.add(re.compile("ping"), first_handler)
    builder.add(re.compile("ping", re.IGNORECASE), second_handler)
    table = builder.build()
    assert handler_of(table, "ping") is first_handler
    assert handler_of(table, "PING") is second_handler


def test_exact_name_and_identical_regex_text_do_not_clash() -> None:
    builder = RouteTableBuilder()
    builder.add("ping", first_handler)
    builder.add(re.compile("ping"), second_handler)
    assert handler_of(builder.build(), "ping") is first_handler


def test_duplicate_default_is_an_error() -> None:
    builder = RouteTableBuilder()
    builder.set_default(first_handler)
    with pytest.raises(DuplicateRouteError) as info:
        builder.set_default(second_handler)
    assert first_handler.__qualname__ in str(info.value)
    assert second_handler.__qualname__ in str(info.value)


# --- inheritance --------------------------------------------------------------------------


def parent_table() -> RouteTable:
    parent = RouteTableBuilder(owner="Parent")
    parent.add("chat", on_exact)
    parent.add(re.compile(r"game\.(\w+)"), on_pattern)
    parent.add(re.compile(r"game\.start"), on_other_pattern)
    parent.set_default(on_default)
    return parent.build()


def test_a_subclass_may_override_a_parents_exact_route() -> None:
    parent = parent_table()
    child = RouteTableBuilder(owner="Child").inherit(parent)
    child.add("chat", second_handler)
    table = child.build()
    assert handler_of(table, "chat") is second_handler
    # the parent's table is untouched
    assert handler_of(parent, "chat") is on_exact


def test_overriding_a_parents_regex_keeps_its_position() -> None:
    child = RouteTableBuilder(owner="Child").inherit(parent_table())
    child.add(re.compile(r"game\.(\w+)"), second_handler)
    child.add(re.compile(r"late\..+"), first_handler)
    table = child.build()
    assert [route.key.pattern for route in table.patterns] == [r"game\.(\w+)", r"game\.start", r"late\..+"]  # type: ignore[union-attr]
    # still tried first, so it still shadows the later game.start route
    assert handler_of(table, "game.start") is second_handler
    assert handler_of(table, "late.x") is first_handler


def test_a_subclass_may_override_a_parents_default() -> None:
    child = RouteTableBuilder().inherit(parent_table())
    child.set_default(second_handler)
    assert handler_of(child.build(), "nothing") is second_handler


def test_inherited_routes_are_kept() -> None:
    child = RouteTableBuilder().inherit(parent_table())
    child.add("extra", first_handler)
    table = child.build()
    assert handler_of(table, "chat") is on_exact
    assert handler_of(table, "game.x") is on_pattern
    assert handler_of(table, "extra") is first_handler
    assert handler_of(table, "zzz") is on_default


def test_a_subclass_declaring_the_same_name_twice_is_still_an_error() -> None:
    child = RouteTableBuilder().inherit(parent_table())
    child.add("chat", first_handler)
    with pytest.raises(DuplicateRouteError):
        child.add("chat", second_handler)


def test_overridable_route_may_be_replaced() -> None:
    builder = RouteTableBuilder()
    builder.add("chat", first_handler, overridable=True)
    builder.add("chat", second_handler)
    assert handler_of(builder.build(), "chat") is second_handler


# --- invalid keys -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty-string"),
        pytest.param(42, id="int"),
        pytest.param(None, id="none"),
        pytest.param(b"chat", id="bytes"),
        pytest.param(re.compile(b"chat"), id="bytes-pattern"),
        pytest.param(("a", "b"), id="tuple"),
    ],
)
def test_invalid_route_keys_are_config_errors(key: Any) -> None:
    builder = RouteTableBuilder(owner="Owner")
    with pytest.raises(ConfigError) as info:
        builder.add(key, on_exact)
    assert not isinstance(info.value, DuplicateRouteError)
    assert "Owner" in str(info.value)
