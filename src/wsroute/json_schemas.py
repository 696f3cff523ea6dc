"""JSON Schemas of message types, through pydantic, for the AsyncAPI document.

Every schema a document needs is registered first (``add``), then generated in one go
(``build``) so that models used in several places become one entry of
``components/schemas``. A type pydantic cannot express as JSON Schema is a ``Problem``
naming where it was declared, not an exception.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import TypeAdapter

from wsroute.handlers import NOT_ANNOTATED

__all__ = ["OPEN_OBJECT", "Problem", "SchemaRegistry", "describe_type", "is_open", "without_none"]

Mode = Literal["validation", "serialization"]

#: the schema of a frame wsroute knows nothing more about: any JSON object
OPEN_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
#: where generated schemas are referenced from
REF_TEMPLATE = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Problem:
    """Something the document cannot describe: ``where`` names the URL pattern or handler."""

    where: str
    message: str
    #: a fatal problem fails the export; a warning only says what is described less precisely
    fatal: bool = True

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def describe_type(annotation: object) -> str:
    """``module.Name`` of a class, or the annotation's repr."""
    if isinstance(annotation, type):
        return f"{annotation.__module__}.{annotation.__qualname__}"
    return repr(annotation)


def without_none(annotation: object) -> tuple[object, bool]:
    """``(X, True)`` for ``X | None``: a handler annotated so may send no reply."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        rest = tuple(arg for arg in args if arg is not type(None))
        if len(rest) < len(args):
            return (rest[0] if len(rest) == 1 else typing.Union[rest]), True  # noqa: UP007  # built at run time
    return annotation, False


def is_open(annotation: object) -> bool:
    """Annotations that say nothing about the members: none, ``Any``, ``dict``, ``dict[str, Any]``."""
    if annotation is NOT_ANNOTATED or annotation is Any or annotation is dict:
        return True
    if typing.get_origin(annotation) in (dict, collections.abc.Mapping):
        args = typing.get_args(annotation)
        return not args or args[1] is Any
    return False


@dataclass
class SchemaRegistry:
    """Collects ``(type, mode)`` pairs, then generates their schemas together."""

    problems: list[Problem] = field(default_factory=list)
    _adapters: list[tuple[int, Mode, TypeAdapter[Any]]] = field(default_factory=list)
    _keys: dict[tuple[int, Mode], int] = field(default_factory=dict)
    _types: list[object] = field(default_factory=list)  # kept alive: keys are their id()s
    _schemas: dict[int, dict[str, Any]] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, annotation: object, mode: Mode, where: str) -> int | None:
        """Register a type; ``None`` (and a problem) when pydantic cannot give its JSON Schema."""
        known = self._keys.get((id(annotation), mode))
        if known is not None:
            return known
        try:
            adapter = TypeAdapter[Any](annotation)  # type: ignore[arg-type]  # any type pydantic accepts
            adapter.json_schema(mode=mode, ref_template=REF_TEMPLATE)
        except Exception as exc:  # pydantic raises several types for types it cannot express
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.problems.append(
                Problem(where, f"pydantic cannot express {describe_type(annotation)} as JSON Schema: {reason}")
            )
            return None
        key = len(self._adapters)
        self._types.append(annotation)
        self._adapters.append((key, mode, adapter))
        self._keys[(id(annotation), mode)] = key
        return key

    def build(self) -> None:
        """Generate every registered schema; shared models go to ``components``."""
        if not self._adapters:
            return
        by_key, defs = TypeAdapter.json_schemas(self._adapters, ref_template=REF_TEMPLATE)
        self._schemas = {key: schema for (key, _mode), schema in by_key.items()}
        self.components = dict(sorted(defs.get("$defs", {}).items()))

    def schema(self, key: int) -> dict[str, Any]:
        """The schema of a registered type: usually a ``$ref`` into ``components``."""
        return self._schemas[key]
