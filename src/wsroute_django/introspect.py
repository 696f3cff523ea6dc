"""Find the consumers a project's ASGI application routes WebSockets to.

Walks ``ProtocolTypeRouter`` (its ``"websocket"`` entry), nested ``URLRouter``s, and
middleware that wraps one application (Channels' ``AuthMiddlewareStack``,
``AllowedHostsOriginValidator``, ``BaseMiddleware`` subclasses: anything holding the next
application as ``inner``, ``application`` or ``app``) down to each ``Consumer.as_asgi()``.
Each URL pattern becomes an address such as ``/ws/chat/{room}/`` with its parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.urls.resolvers import RegexPattern, RoutePattern

from wsroute.json_schemas import Problem

__all__ = ["Found", "Walk", "walk"]

#: attributes under which ASGI middleware keeps the application it wraps
_WRAPPED = ("inner", "application", "app")


@dataclass(frozen=True)
class Found:
    """A consumer class reached by a URL."""

    consumer: type
    #: the URL pattern(s) as written, joined: ``^ws/chat/(?P<room>[-a-zA-Z0-9_]{1,50})/$``
    route: str
    address: str | None
    parameters: dict[str, str]
    #: the ``name=`` of the innermost ``path()``/``re_path()``, if any
    name: str | None


@dataclass
class Walk:
    found: list[Found] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class _Prefix:
    route: str = ""
    address: str | None = ""
    parameters: tuple[tuple[str, str], ...] = ()
    why_no_address: str = ""


def walk(application: Any) -> Walk:
    """Every consumer ``application`` routes WebSocket connections to, in URL order."""
    result = Walk()
    mapping = getattr(application, "application_mapping", None)
    if isinstance(mapping, dict):
        if "websocket" not in mapping:
            result.problems.append(Problem("ASGI_APPLICATION", "the ProtocolTypeRouter has no 'websocket' entry"))
            return result
        application = mapping["websocket"]
    _walk(application, _Prefix(), result, depth=0)
    if not result.found and not result.problems:
        result.problems.append(Problem("ASGI_APPLICATION", "no WebSocket URL pattern reaches a consumer"))
    return result


def _walk(app: Any, prefix: _Prefix, result: Walk, depth: int, name: str | None = None) -> None:
    where = f"URL pattern {prefix.route!r}" if prefix.route else "ASGI_APPLICATION"
    if depth > 50:
        result.problems.append(Problem(where, "applications are nested more than 50 deep"))
        return
    consumer = getattr(app, "consumer_class", None)
    if isinstance(consumer, type):
        if not prefix.address and prefix.why_no_address:
            result.problems.append(Problem(where, prefix.why_no_address, fatal=False))
        result.found.append(Found(consumer, prefix.route, prefix.address or None, dict(prefix.parameters), name))
        return
    routes = getattr(app, "routes", None)
    if getattr(type(app), "_path_routing", False) and isinstance(routes, list | tuple):  # a URLRouter
        for route in routes:
            try:
                inner = _join(prefix, route.pattern)
            except Exception as exc:  # a pattern class of someone else's: say which one
                result.problems.append(Problem(f"URL pattern {route!r}", f"cannot be read: {exc}"))
                continue
            _walk(route.callback, inner, result, depth + 1, getattr(route, "name", None) or name)
        return
    for attribute in _WRAPPED:
        inner_app = getattr(app, attribute, None)
        if inner_app is not None and callable(inner_app):
            _walk(inner_app, prefix, result, depth + 1, name)
            return
    kind = getattr(app, "__qualname__", None) or type(app).__qualname__
    result.problems.append(
        Problem(
            where,
            f"cannot see which consumer {kind} leads to: it is neither a URLRouter, a Consumer.as_asgi() "
            "application, nor middleware that keeps the next application as .inner or .application",
        )
    )


def _join(prefix: _Prefix, pattern: object) -> _Prefix:
    text = str(pattern)
    address: str | None
    if isinstance(pattern, RoutePattern):
        address, parameters, why = _route_address(text, pattern)
    elif isinstance(pattern, RegexPattern):
        address, parameters, why = _regex_address(text)
    else:
        address, parameters, why = None, [], f"{type(pattern).__name__} patterns have no address form"
    joined = None
    if prefix.address is not None and address is not None:
        joined = prefix.address + address if prefix.address else "/" + address.lstrip("/")
    return _Prefix(
        route=prefix.route + text,
        address=joined,
        parameters=(*prefix.parameters, *parameters),
        why_no_address=prefix.why_no_address or why,
    )


_CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_CONVERTER_TEXT = {
    "str": "any text without `/`",
    "int": "a number of digits, 0 or more",
    "slug": "letters, digits, `-` and `_`",
    "uuid": "a UUID in lowercase, with dashes",
    "path": "any text, `/` included",
}


def _route_address(text: str, pattern: RoutePattern) -> tuple[str, list[tuple[str, str]], str]:
    parameters = []
    for match in _CONVERTER.finditer(text):
        converter = match["converter"] or "str"
        described = _CONVERTER_TEXT.get(converter)
        if described is None:
            regex = getattr(pattern.converters.get(match["name"]), "regex", "?")
            described = f"matches `{regex}` (converter `{converter}`)"
        parameters.append((match["name"], described))
    return _CONVERTER.sub(lambda m: "{" + m["name"] + "}", text), parameters, ""


_LITERAL_ESCAPES = set("./-_~:@!$&'()*+,;=%#[]{}^$|?\\ ")


def _regex_address(regex: str) -> tuple[str | None, list[tuple[str, str]], str]:
    """``^ws/chat/(?P<room>[a-z]+)/$`` -> ``ws/chat/{room}/`` and ``room``'s regex, or why not."""
    why = f"the regex {regex!r} is not literal text and named groups, so the channel has no address"
    text = regex.removeprefix("^")
    for anchor in ("\\Z", "$"):
        if text.endswith(anchor) and not text.endswith("\\" + anchor):
            text = text.removesuffix(anchor)
            break
    out: list[str] = []
    parameters: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if text.startswith("(?P<", i):
            close = text.find(">", i)
            end = _group_end(text, i)
            if close < 0 or end is None:
                return None, [], why
            name = text[i + 4 : close]
            parameters.append((name, f"matches `{text[close + 1 : end]}`"))
            out.append("{" + name + "}")
            i = end + 1
            continue
        if char == "\\" and i + 1 < len(text) and text[i + 1] in _LITERAL_ESCAPES:
            literal, i = text[i + 1], i + 2
        elif char in ".^$*+?{}[]|()\\":
            return None, [], why
        else:
            literal, i = char, i + 1
        if text.startswith("?", i):  # "/?": an optional character, left out of the address
            i += 1
        else:
            out.append(literal)
    return "".join(out), parameters, ""


def _group_end(text: str, start: int) -> int | None:
    """The index of the ``)`` closing the group opened at ``start``."""
    depth = 0
    in_class = False
    chars: Iterator[tuple[int, str]] = iter(enumerate(text[start:], start))
    for index, char in chars:
        if char == "\\":
            next(chars, None)
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
    return None
