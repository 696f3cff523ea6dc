"""Handler specs: what a handler's signature asks for, read once when the route is declared.

Every handler and hook takes the live connection first (``socket`` in the decorator style,
``self`` in the subclass style). After it, a handler may take:

* one positional parameter for the message (any name): the decoded object, or a validated
  pydantic model when the parameter is annotated with one or the route has ``schema=``;
* a parameter named ``match``: the ``re.Match`` of a regex route (``None`` otherwise).

A handler that takes no message parameter is called without one.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from wsroute.errors import ConfigError
from wsroute.types import SyncRunner
from wsroute.validation import Validator, validator_for

__all__ = ["NOT_ANNOTATED", "HandlerSpec", "PreparedHandler", "describe", "is_async_callable"]

#: ``HandlerSpec.returns`` of a handler without a return annotation (``None`` means ``-> None``)
NOT_ANNOTATED: Final[object] = type("NotAnnotated", (), {"__repr__": lambda self: "NOT_ANNOTATED", "__slots__": ()})()


def describe(fn: object) -> str:
    """A name for error messages: ``module.Qualname``."""
    target = fn.func if isinstance(fn, functools.partial) else fn
    module = getattr(target, "__module__", None) or "?"
    name = getattr(target, "__qualname__", None) or repr(target)
    return f"{module}.{name}"


def is_async_callable(fn: object) -> bool:
    """True for ``async def`` functions, partials of them and objects with an async ``__call__``."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(type(fn), "__call__", None)  # noqa: B004  # we need the method, not callable()
    return call is not None and inspect.iscoroutinefunction(call)


@dataclass(frozen=True, slots=True)
class PreparedHandler:
    """A handler ready to await, built by the dispatcher from a ``HandlerSpec``."""

    name: str
    #: the handler as an async callable: itself, or wrapped once by the sync runner
    call: Callable[..., Awaitable[Any]]
    takes_content: bool
    takes_match: bool
    validator: Validator | None
    fn: Callable[..., Any]


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """A handler with its signature already read."""

    fn: Callable[..., Any]
    name: str
    is_async: bool
    takes_content: bool
    takes_match: bool
    validator: Validator | None
    #: what the message is validated against (a pydantic model, ``schema=``), or ``None``
    schema: object = None
    #: the handler's return annotation, resolved; ``NOT_ANNOTATED`` when it has none
    returns: object = NOT_ANNOTATED

    @classmethod
    def from_callable(cls, fn: Callable[..., Any], *, schema: object | None = None) -> HandlerSpec:
        """Read ``fn``'s signature. Raises ``ConfigError`` for one wsroute cannot call."""
        name = describe(fn)
        if not callable(fn):
            raise ConfigError(f"handler {name} is not callable")
        signature = _signature(fn, name)
        params = list(signature.parameters.values())
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "match"]
        varargs = any(p.kind is p.VAR_POSITIONAL for p in params)
        if not positional and not varargs:
            raise ConfigError(
                f"handler {name} takes no arguments; it must take the socket first "
                "(def handler(socket, content) or def on_event(self, event))"
            )
        content_param = positional[1] if len(positional) > 1 else None
        for extra in positional[2:]:
            if extra.default is extra.empty:
                raise ConfigError(
                    f"handler {name} has a required parameter {extra.name!r} wsroute cannot fill; "
                    "a handler takes (socket, content) and optionally match"
                )
        for extra in params:
            if extra.kind is extra.KEYWORD_ONLY and extra.name != "match" and extra.default is extra.empty:
                raise ConfigError(
                    f"handler {name} has a required keyword-only parameter {extra.name!r} wsroute cannot fill; "
                    "a handler takes (socket, content) and optionally match"
                )
        takes_match = any(p.name == "match" and p.kind is not p.POSITIONAL_ONLY for p in params)
        if schema is None and content_param is not None:
            schema = _model_annotation(content_param.annotation)
        if schema is not None and content_param is None and not varargs:
            raise ConfigError(f"handler {name} has schema={schema!r} but takes no content parameter")
        returns = signature.return_annotation
        return cls(
            fn=fn,
            name=name,
            is_async=is_async_callable(fn),
            takes_content=content_param is not None or varargs,
            takes_match=takes_match,
            validator=validator_for(schema) if schema is not None else None,
            schema=schema,
            returns=NOT_ANNOTATED if returns is inspect.Signature.empty else returns,
        )

    @classmethod
    def for_hook(cls, fn: Callable[..., Any], *, owner: str, hook: str, takes_code: bool) -> HandlerSpec:
        """A lifecycle hook: ``(socket)``, or ``(socket, code)`` when ``takes_code`` (a disconnect hook).

        Anything else it asks for (a second parameter of a connect hook, ``match``, a pydantic
        model) is a ``ConfigError`` now, not a socket closed at every connection."""
        spec = cls.from_callable(fn)
        if spec.validator is not None or spec.takes_match or (spec.takes_content and not takes_code):
            wanted = "(self) or (self, code)" if takes_code else "(self)"
            raise ConfigError(f"{owner}.{hook} must take {wanted}; {spec.name} asks for more")
        return spec

    def prepared(self, run_sync: SyncRunner) -> PreparedHandler:
        """The handler ready to await: sync handlers are wrapped in ``run_sync`` once, here."""
        call = self.fn if self.is_async else run_sync(self.fn)
        return PreparedHandler(self.name, call, self.takes_content, self.takes_match, self.validator, self.fn)


def _signature(fn: Callable[..., Any], name: str) -> inspect.Signature:
    try:
        return inspect.signature(fn, eval_str=True)
    except (NameError, AttributeError, SyntaxError) as exc:  # a string annotation eval() cannot resolve
        raise ConfigError(
            f"cannot resolve an annotation of handler {name}: {exc}; import the annotated type at module level"
        ) from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot read the signature of handler {name}: {exc}") from exc


def _model_annotation(annotation: object) -> object | None:
    """Only a pydantic model annotation turns on validation; ``dict`` or none leaves it off."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None
