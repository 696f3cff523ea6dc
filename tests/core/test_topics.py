"""The core's topics: declared keys, names clients send, resolution order, a socket's set, and
the dispatcher refusing frames that name a topic the socket did not join."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.core.conftest import Connect, FakeTransport, MakeTable

from wsroute import (
    AlreadyJoined,
    BadMessage,
    ConfigError,
    Dispatcher,
    DuplicateRouteError,
    NotJoined,
    TooManyTopics,
    TopicSet,
    TopicTableBuilder,
    check_topic_name,
)
from wsroute.topics import TOPIC_MAX_LENGTH, compile_topic


class TestNames:
    @pytest.mark.parametrize("name", ["lobby", "room:42", "user@host/inbox", "a.b_c-d+e=f~g", "x" * TOPIC_MAX_LENGTH])
    def test_accepted(self, name: str) -> None:
        assert check_topic_name(name) == name

    @pytest.mark.parametrize(
        ("value", "says"),
        [
            (None, "got null"),
            (42, "got a number"),
            (True, "got a boolean"),
            (["a"], "got an array"),
            ({"a": 1}, "got an object"),
            ("", "ASCII letters"),
            ("room 1", "ASCII letters"),
            ("caf\u00e9", "ASCII letters"),
            ("x" * (TOPIC_MAX_LENGTH + 1), "at most 128"),
            ("x" * 100_000, "at most 128"),
        ],
    )
    def test_refused_with_bad_message(self, value: object, says: str) -> None:
        with pytest.raises(BadMessage, match=says) as raised:
            check_topic_name(value)
        assert len(raised.value.detail) < 120  # never echoes a huge value

    @given(st.one_of(st.text(max_size=300), st.integers(), st.none(), st.lists(st.text(), max_size=3)))
    def test_anything_is_a_name_or_bad_message(self, value: Any) -> None:
        with contextlib.suppress(BadMessage):
            assert check_topic_name(value) == value


class TestDeclarations:
    def test_kinds(self) -> None:
        assert compile_topic("lobby") == ("lobby", None)
        exact, pattern = compile_topic("room:{id}:seat:{n}")
        assert exact is None and pattern is not None
        assert pattern.fullmatch("room:7:seat:2").groupdict() == {"id": "7", "n": "2"}  # type: ignore[union-attr]
        assert pattern.fullmatch("room:7") is None
        regex = re.compile(r"game-\d+")
        assert compile_topic(regex) == (None, regex)

    @pytest.mark.parametrize("key", ["room:{}", "room:{1x}", "room:{id}{id}", "room {id}", "a b", 42])
    def test_mistakes_fail_at_declaration(self, key: Any) -> None:
        with pytest.raises(ConfigError):
            compile_topic(key)

    def test_exact_names_first_then_patterns_in_order(self) -> None:
        builder: TopicTableBuilder[str] = TopicTableBuilder(owner="t")
        builder.add("room:{id}", "template")
        builder.add(re.compile(r"room:\d+"), "regex")
        builder.add("room:lobby", "exact")
        table = builder.build()

        def hook(name: str) -> str | None:
            found = table.resolve(name)
            return found[0].hook if found else None

        assert hook("room:lobby") == "exact"
        assert hook("room:7") == "template"  # declared before the regex
        assert hook("kitchen") is None
        route, match = table.resolve("room:7")  # type: ignore[misc]
        join = table.join(route, "room:7", match, {"password": "x"})
        assert (join.topic, join.params, join.payload) == ("room:7", {"id": "7"}, {"password": "x"})

    def test_duplicates_name_both_hooks(self) -> None:
        builder: TopicTableBuilder[str] = TopicTableBuilder(owner="Chat")
        builder.add("lobby", "first")
        with pytest.raises(DuplicateRouteError, match="'lobby' is declared twice"):
            builder.add("lobby", "second")
        builder.add("lobby", "override", overridable=True)
        assert builder.build().resolve("lobby")[0].hook == "override"  # type: ignore[index]


class TestTopicSet:
    def test_join_leave_and_the_limit(self) -> None:
        topics = TopicSet(limit=2)
        topics.add("a")
        with pytest.raises(AlreadyJoined):
            topics.add("a")
        topics.add("b")
        with pytest.raises(TooManyTopics, match="at most 2"):
            topics.check_can_join("c")
        topics.remove("a")
        with pytest.raises(NotJoined):
            topics.remove("a")
        topics.add("c")
        assert list(topics) == ["b", "c"] and len(topics) == 2

    @pytest.mark.parametrize(("value", "error"), [("a", None), ("z", NotJoined), (5, BadMessage), ([1], BadMessage)])
    def test_require(self, value: Any, error: type[Exception] | None) -> None:
        topics = TopicSet(limit=None)
        topics.add("a")
        if error is None:
            topics.require(value)
        else:
            with pytest.raises(error):
                topics.require(value)


async def test_the_dispatcher_checks_a_frames_topic(
    make_table: MakeTable, connect: Connect, transport: FakeTransport
) -> None:
    async def say(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "SAID", "topic": content["topic"]}

    async def join(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
        return {"type": "JOINED"}

    dispatcher = Dispatcher(make_table([("SAY", say), ("JOIN", join)]), topic_keys=frozenset({"JOIN"}))
    connection = connect(dispatcher)
    connection.topics = TopicSet(limit=None)
    connection.topics.add("room:1")

    await connection.receive('{"type": "SAY", "topic": "room:1"}')
    await connection.receive('{"type": "SAY", "topic": "room:2", "ref": 1}')
    await connection.receive('{"type": "SAY", "topic": {"$ne": 1}, "ref": 2}')
    await connection.receive('{"type": "JOIN", "topic": "room:2", "ref": 3}')  # a join names a new one

    assert [(frame["type"], frame.get("code"), frame.get("ref")) for frame in transport.frames] == [
        ("SAID", None, None),
        ("ERROR", "not_joined", 1),
        ("ERROR", "bad_message", 2),
        ("JOINED", None, 3),
    ]
