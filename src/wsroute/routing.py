"""The route table: exact names, then regexes in declaration order, then a default route.

Exact names are a dict lookup, so the decision costs the same for 10 or 10,000 routes.
Regexes are tried with ``fullmatch``. A bare string is always an exact name, never a regex.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from wsroute.errors import ConfigError, DuplicateRouteError
from wsroute.handlers import HandlerSpec, PreparedHandler
from wsroute.types import SyncRunner

__all__ = ["Route", "RouteKey", "RouteTable", "RouteTableBuilder"]

RouteKey = str | re.Pattern[str]
#: what a table's routes hold: a ``HandlerSpec`` as declared, a ``PreparedHandler`` once prepared
H = TypeVar("H", HandlerSpec, PreparedHandler)


@dataclass(frozen=True, slots=True)
class Route(Generic[H]):
    """One entry of a table: its key (``None`` for the default route) and its handler."""

    key: RouteKey | None
    handler: H


@dataclass(frozen=True, slots=True)
class RouteTable(Generic[H]):
    """An immutable, compiled route table. Build one with ``RouteTableBuilder``."""

    exact: dict[str, Route[H]]
    patterns: tuple[Route[H], ...]
    default: Route[H] | None

    def resolve(self, key: str) -> tuple[Route[H], re.Match[str] | None] | None:
        """The route for a routing key and, for a regex route, its match; ``None`` if nothing fits."""
        route = self.exact.get(key)
        if route is not None:
            return route, None
        for route in self.patterns:
            match = route.key.fullmatch(key)  # type: ignore[union-attr]  # patterns hold regexes only
            if match is not None:
                return route, match
        if self.default is not None:
            return self.default, None
        return None

    def prepared(self: RouteTable[HandlerSpec], run_sync: SyncRunner) -> RouteTable[PreparedHandler]:
        """The table with its handlers ready to await (sync ones wrapped in ``run_sync``)."""

        def prep(route: Route[HandlerSpec]) -> Route[PreparedHandler]:
            return Route(route.key, route.handler.prepared(run_sync))

        return RouteTable(
            exact={key: prep(route) for key, route in self.exact.items()},
            patterns=tuple(prep(route) for route in self.patterns),
            default=prep(self.default) if self.default is not None else None,
        )

    def __iter__(self) -> Iterator[Route[H]]:
        yield from self.exact.values()
        yield from self.patterns
        if self.default is not None:
            yield self.default

    def __len__(self) -> int:
        return len(self.exact) + len(self.patterns) + (self.default is not None)


def _pattern_id(pattern: re.Pattern[str]) -> tuple[str, int]:
    return pattern.pattern, pattern.flags


@dataclass
class RouteTableBuilder:
    """Collects routes for one class, then ``build()``s the table.

    Routes taken over from a parent (``inherit``) may be overridden once by the child; a key
    declared twice by the same class is a ``DuplicateRouteError`` naming both handlers.
    """

    owner: str = "route table"
    _exact: dict[str, tuple[Route[HandlerSpec], bool]] = field(default_factory=dict)
    _patterns: dict[tuple[str, int], tuple[Route[HandlerSpec], bool]] = field(default_factory=dict)
    _default: tuple[Route[HandlerSpec], bool] | None = None

    def inherit(self, table: RouteTable[HandlerSpec]) -> RouteTableBuilder:
        """Start from a parent's table; its entries may be overridden."""
        for route in table.exact.values():
            self._exact[route.key] = (route, True)  # type: ignore[index]  # exact keys are str
        for route in table.patterns:
            self._patterns[_pattern_id(route.key)] = (route, True)  # type: ignore[arg-type]
        if table.default is not None:
            self._default = (table.default, True)
        return self

    def add(
        self,
        key: RouteKey,
        handler: Callable[..., Any] | HandlerSpec,
        *,
        schema: object = None,
        overridable: bool = False,
    ) -> Route[HandlerSpec]:
        """Declare ``key`` (an exact name or a compiled regex) as routed to ``handler``.

        ``overridable`` marks a route taken over from a parent class: a later ``add`` of the
        same key replaces it instead of raising ``DuplicateRouteError``.
        """
        spec = handler if isinstance(handler, HandlerSpec) else HandlerSpec.from_callable(handler, schema=schema)
        route = Route(key, spec)
        if isinstance(key, re.Pattern):
            if not isinstance(key.pattern, str):
                raise ConfigError(f"{self.owner}: route pattern {key!r} must be a str pattern, not bytes")
            self._check_free(self._patterns.get(_pattern_id(key)), f"re.compile({key.pattern!r})", spec)
            self._patterns[_pattern_id(key)] = (route, overridable)
        elif isinstance(key, str):
            if not key:
                raise ConfigError(f"{self.owner}: a route name must not be empty")
            self._check_free(self._exact.get(key), repr(key), spec)
            self._exact[key] = (route, overridable)
        else:
            raise ConfigError(
                f"{self.owner}: a route key must be a str or re.compile(...), got {type(key).__name__} {key!r}"
            )
        return route

    def add_all(self, routes: Iterable[tuple[RouteKey, Callable[..., Any]]]) -> None:
        for key, handler in routes:
            self.add(key, handler)

    def set_default(
        self, handler: Callable[..., Any] | HandlerSpec, *, overridable: bool = False
    ) -> Route[HandlerSpec]:
        """Declare the route taken when nothing else matches."""
        spec = handler if isinstance(handler, HandlerSpec) else HandlerSpec.from_callable(handler)
        self._check_free(self._default, "the default route", spec)
        route = Route(None, spec)
        self._default = (route, overridable)
        return route

    def _check_free(self, existing: tuple[Route[HandlerSpec], bool] | None, what: str, new: HandlerSpec) -> None:
        if existing is None:
            return
        route, inherited = existing
        if not inherited and route.handler.fn is not new.fn:
            raise DuplicateRouteError(
                f"{self.owner}: {what} is routed twice, to {route.handler.name} and to {new.name}; "
                "remove one of them (a subclass may override a parent's route)"
            )

    def build(self) -> RouteTable[HandlerSpec]:
        return RouteTable(
            exact={key: route for key, (route, _) in self._exact.items()},
            patterns=tuple(route for route, _ in self._patterns.values()),
            default=self._default[0] if self._default else None,
        )
