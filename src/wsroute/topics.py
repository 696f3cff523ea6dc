"""Topics: groups a client joins by name, each declared by the server with a join hook.

A topic is declared by an exact name (``"lobby"``), a template (``"room:{id}"``: each
``{name}`` matches one or more characters other than ``:``) or a compiled regex, matched
in full. Resolution follows the route table's rules: exact names first, then templates and
regexes in declaration order. Names clients send are checked here (``check_topic_name``)
before anything is looked up; a socket's joined topics and their limit are a ``TopicSet``.
This module knows nothing of channel layers or databases; the adapters do the joining.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from wsroute.errors import AlreadyJoined, BadMessage, ConfigError, DuplicateRouteError, NotJoined, TooManyTopics
from wsroute.types import Content

__all__ = [
    "TOPIC_MAX_LENGTH",
    "Join",
    "TopicKey",
    "TopicRoute",
    "TopicSet",
    "TopicTable",
    "TopicTableBuilder",
    "check_topic_name",
    "compile_topic",
]

#: the longest topic name a client may send, in characters
TOPIC_MAX_LENGTH = 128
#: what a topic name may contain: ASCII letters, digits and ``_ . : @ / + = ~ -``
_NAME = re.compile(r"[A-Za-z0-9_.:@/+=~-]+")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

TopicKey = str | re.Pattern[str]
#: what a table's topics hold as their join hook (a spec as declared, or one ready to await)
H = TypeVar("H")


def check_topic_name(value: object) -> str:
    """``value`` if it is a topic name a client may send, else ``BadMessage`` saying why."""
    if not isinstance(value, str):
        raise BadMessage(f"'topic' must be a string, got {_kind(value)}")
    if len(value) > TOPIC_MAX_LENGTH:
        raise BadMessage(f"topic name of {len(value)} characters; at most {TOPIC_MAX_LENGTH}")
    if _NAME.fullmatch(value) is None:
        raise BadMessage("topic names use ASCII letters, digits and _ . : @ / + = ~ - only")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {int: "a number", float: "a number", list: "an array", dict: "an object"}.get(type(value), "a value")


def compile_topic(key: TopicKey) -> tuple[str | None, re.Pattern[str] | None]:
    """``(exact name, None)`` or ``(None, pattern)`` for a declared topic key; ``ConfigError`` if invalid."""
    if isinstance(key, re.Pattern):
        return None, key
    if not isinstance(key, str):
        raise ConfigError(f"a topic is a name, a 'name:{{param}}' template or re.compile(...), not {key!r}")
    if "{" not in key and "}" not in key:
        if _NAME.fullmatch(key) is None or len(key) > TOPIC_MAX_LENGTH:
            raise ConfigError(f"topic {key!r}: names use ASCII letters, digits and _ . : @ / + = ~ - (at most 128)")
        return key, None
    parts: list[str] = []
    names: set[str] = set()
    position = 0
    for found in _PLACEHOLDER.finditer(key):
        parts.append(re.escape(key[position : found.start()]))
        name = found[1]
        if name in names:
            raise ConfigError(f"topic {key!r} names the parameter {{{name}}} twice")
        names.add(name)
        parts.append(f"(?P<{name}>[^:]+)")
        position = found.end()
    rest = key[position:]
    literal = _PLACEHOLDER.sub("", key)
    if "{" in literal or "}" in literal:
        raise ConfigError(f"topic {key!r}: a parameter is {{name}}, a Python identifier in braces")
    if literal and _NAME.fullmatch(literal) is None:
        raise ConfigError(f"topic {key!r}: names use ASCII letters, digits and _ . : @ / + = ~ - only")
    parts.append(re.escape(rest))
    return None, re.compile("".join(parts))


@dataclass(frozen=True, slots=True)
class Join:
    """What a join hook gets: the topic a client asked for, and its frame.

    ``params`` holds a template's parameters (``{"id": "42"}`` for ``room:{id}``) or a
    regex's named groups; ``match`` is the ``re.Match`` of a template or regex topic."""

    topic: str
    params: dict[str, str]
    payload: Content
    match: re.Match[str] | None = None


@dataclass(frozen=True, slots=True)
class TopicRoute(Generic[H]):
    """One declared topic: its key as declared and its join hook (``None``: anyone may join)."""

    key: TopicKey
    hook: H | None
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class TopicTable(Generic[H]):
    """The declared topics of a consumer class. Build one with ``TopicTableBuilder``."""

    exact: dict[str, TopicRoute[H]]
    patterns: tuple[TopicRoute[H], ...]

    def resolve(self, name: str) -> tuple[TopicRoute[H], re.Match[str] | None] | None:
        """The topic a (checked) name belongs to, and the match of a template or regex."""
        route = self.exact.get(name)
        if route is not None:
            return route, None
        for route in self.patterns:
            match = route.pattern.fullmatch(name)  # type: ignore[union-attr]  # patterns have one
            if match is not None:
                return route, match
        return None

    def join(self, route: TopicRoute[H], name: str, match: re.Match[str] | None, payload: Content) -> Join:
        params = {key: value for key, value in match.groupdict().items() if value is not None} if match else {}
        return Join(name, params, payload, match)

    def __iter__(self) -> Iterator[TopicRoute[H]]:
        yield from self.exact.values()
        yield from self.patterns

    def __len__(self) -> int:
        return len(self.exact) + len(self.patterns)

    def __bool__(self) -> bool:
        return bool(self.exact or self.patterns)


@dataclass
class TopicTableBuilder(Generic[H]):
    """Collects topic declarations; a name declared twice is a ``DuplicateRouteError``."""

    owner: str = "topics"
    _exact: dict[str, TopicRoute[H]] = field(default_factory=dict)
    _patterns: list[TopicRoute[H]] = field(default_factory=list)

    def add(self, key: TopicKey, hook: H | None, *, overridable: bool = False) -> TopicRoute[H]:
        exact, pattern = compile_topic(key)
        route = TopicRoute(key, hook, pattern)
        if exact is not None:
            if exact in self._exact and not overridable:
                raise DuplicateRouteError(
                    f"{self.owner}: topic {exact!r} is declared twice "
                    f"({_name(self._exact[exact].hook)} and {_name(hook)})"
                )
            self._exact[exact] = route
            return route
        assert pattern is not None
        same = [
            i for i, r in enumerate(self._patterns) if r.pattern is not None and r.pattern.pattern == pattern.pattern
        ]
        if same and not overridable:
            raise DuplicateRouteError(f"{self.owner}: topic {_shown(key)} is declared twice")
        if same:
            self._patterns[same[0]] = route
        else:
            self._patterns.append(route)
        return route

    def build(self) -> TopicTable[H]:
        return TopicTable(dict(self._exact), tuple(self._patterns))


def _name(hook: object) -> str:
    return getattr(hook, "name", None) or getattr(hook, "__qualname__", None) or repr(hook)


def _shown(key: TopicKey) -> str:
    return repr(key.pattern) if isinstance(key, re.Pattern) else repr(key)


class TopicSet:
    """The topics one socket is in, at most ``limit`` of them."""

    __slots__ = ("_names", "limit")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._names: dict[str, None] = {}  # insertion-ordered: left in the order joined

    def check_can_join(self, name: str) -> None:
        """``AlreadyJoined`` or ``TooManyTopics`` if ``name`` cannot be joined now."""
        if name in self._names:
            raise AlreadyJoined(f"already joined {name!r}")
        if self.limit is not None and len(self._names) >= self.limit:
            raise TooManyTopics(f"a socket may join at most {self.limit} topics; leave one first")

    def add(self, name: str) -> None:
        self.check_can_join(name)
        self._names[name] = None

    def remove(self, name: str) -> None:
        """Forget ``name``; ``NotJoined`` if the socket is not in it."""
        if self._names.pop(name, _MISSING) is _MISSING:
            raise NotJoined(f"not joined to {name!r}")

    def require(self, value: Any) -> None:
        """A client frame's ``topic`` must be a topic this socket joined."""
        if not isinstance(value, str) or value not in self._names:
            shown = check_topic_name(value)  # BadMessage for anything that is not a name at all
            raise NotJoined(f"not joined to {shown!r}; join it first")

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


_MISSING: Any = object()
