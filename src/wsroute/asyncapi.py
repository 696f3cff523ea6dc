"""An AsyncAPI 3.0 document from route tables: what each socket endpoint receives and sends.

The document describes the server. Each endpoint (a URL) is a channel; each route is an
operation the server *receives*, with the request's schema (the handler's pydantic
annotation or ``schema=``) and a reply: the handler's return annotation, or the error
frame, which any request may get. Frames a consumer sends by itself (its ``emits``) and
the error frame are operations the server *sends*. ``ref`` is the correlation id.

Building is deterministic: routes in resolution order, frames in declaration order,
schemas sorted by name, so a regenerated document diffs cleanly.

``x-wsroute`` members carry what the TypeScript generator needs (the routing key, each
frame's name or pattern); AsyncAPI tools ignore them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from wsroute.envelope import MAX_ERRORS, MAX_REF_LENGTH
from wsroute.handlers import NOT_ANNOTATED, HandlerSpec
from wsroute.json_schemas import Problem, SchemaRegistry, is_open, without_none
from wsroute.routing import RouteTable
from wsroute.types import ErrorCode

__all__ = ["ASYNCAPI_VERSION", "Endpoint", "build_document"]

ASYNCAPI_VERSION: Final = "3.0.0"
REF_SCHEMA: Final = "wsroute.Ref"

#: what each error code means, for the error frame's schema (the wire format page has the details)
ERROR_CODES: Final[dict[ErrorCode, str]] = {
    ErrorCode.BAD_JSON: "the text frame is not valid JSON (no `ref`: it could not be read)",
    ErrorCode.BAD_MESSAGE: "valid JSON but not a message: not an object, no string routing key, a bad `ref`, "
    "or a binary frame",
    ErrorCode.UNKNOWN_TYPE: "no route matches the routing key and there is no default route",
    ErrorCode.VALIDATION_ERROR: "the frame does not match the route's schema; `errors` lists why",
    ErrorCode.FORBIDDEN: "a handler or middleware refused the frame",
    ErrorCode.RATE_LIMITED: "the socket sent more frames than flood control allows",
    ErrorCode.TOO_LARGE: "the frame is larger than the consumer's `max_message_size`",
    ErrorCode.SERVER_ERROR: "the handler failed; the detail is always `internal server error`",
}


@dataclass(frozen=True)
class Endpoint:
    """One socket URL and the consumer behind it."""

    #: the channel's id in the document (letters, digits, ``_`` and ``-``)
    id: str
    #: ``/ws/chat/{room}/``, or ``None`` when the URL pattern has no such form
    address: str | None
    #: each ``{name}`` of the address, described
    parameters: Mapping[str, str]
    #: the consumer class, dotted
    consumer: str
    description: str
    table: RouteTable[HandlerSpec]
    key: str = "type"
    error_value: str = "ERROR"
    #: frames the consumer sends by itself: name -> schema of its other members (``None``: any)
    emits: Mapping[str, object] = field(default_factory=dict)
    #: the channel's title (default: the consumer's class name)
    title: str = ""


def build_document(
    endpoints: Sequence[Endpoint], *, title: str, version: str, description: str | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """The AsyncAPI 3.0 document of ``endpoints``, and what could not be described."""
    registry = SchemaRegistry()
    plans = [_plan(endpoint, registry) for endpoint in endpoints]
    registry.build()
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": info,
        "defaultContentType": "application/json",
        "channels": {},
        "operations": {},
    }
    errors: dict[str, dict[str, Any]] = {}
    for plan in plans:
        channel, operations = plan.render(registry, errors)
        document["channels"][plan.endpoint.id] = channel
        document["operations"].update(operations)
    schemas = {**registry.components, **errors, REF_SCHEMA: _ref_schema()}
    document["components"] = {
        "schemas": dict(sorted(schemas.items())),
        "correlationIds": {
            "ref": {
                "description": "The request's `ref`, copied onto every reply and error frame it causes, and "
                "onto frames the handler sends while handling it.",
                "location": "$message.payload#/ref",
            }
        },
    }
    return document, registry.problems


# -- one endpoint -------------------------------------------------------------------------


@dataclass
class _Frame:
    """A message of the channel before its schema is generated."""

    key: str
    direction: str  # client | reply | server | error
    name: str | None = None
    pattern: str | None = None
    schema: int | None = None  # a SchemaRegistry key; None: any object
    title: str = ""
    summary: str = ""
    description: str = ""
    for_request: str | None = None


@dataclass
class _Route:
    request: _Frame
    reply: _Frame | None
    handler: HandlerSpec


@dataclass
class _Plan:
    endpoint: Endpoint
    routes: list[_Route]
    emitted: list[_Frame]

    def render(
        self, registry: SchemaRegistry, errors: dict[str, dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        endpoint = self.endpoint
        error_name = _component_name(f"wsroute.ErrorFrame.{endpoint.key}.{endpoint.error_value}")
        errors[error_name] = _error_schema(endpoint.key, endpoint.error_value)
        channel_ref = {"$ref": f"#/channels/{_pointer(endpoint.id)}"}
        messages: dict[str, Any] = {}
        operations: dict[str, Any] = {}

        def message_ref(key: str) -> dict[str, str]:
            return {"$ref": f"#/channels/{_pointer(endpoint.id)}/messages/{_pointer(key)}"}

        for route in self.routes:
            messages[route.request.key] = self._message(route.request, registry)
            if route.reply is not None:
                messages[route.reply.key] = self._message(route.reply, registry)
        for frame in self.emitted:
            messages[frame.key] = self._message(frame, registry)
        messages["error"] = {
            "name": endpoint.error_value,
            "title": "Error frame",
            "summary": "Sent for a frame the server could not handle; the connection stays open.",
            "payload": {"$ref": f"#/components/schemas/{error_name}"},
            "correlationId": {"$ref": "#/components/correlationIds/ref"},
            "x-wsroute": {"direction": "error", "name": endpoint.error_value},
        }
        for route in self.routes:
            operation: dict[str, Any] = {
                "action": "receive",
                "channel": channel_ref,
                "title": route.request.title,
                "description": route.request.description,
                "messages": [message_ref(route.request.key)],
                "reply": {
                    "channel": channel_ref,
                    "messages": [
                        *([message_ref(route.reply.key)] if route.reply is not None else []),
                        message_ref("error"),
                    ],
                },
            }
            if route.request.summary:
                operation["summary"] = route.request.summary
            operations[f"{endpoint.id}.{route.request.key}"] = operation
        for frame in self.emitted:
            operations[f"{endpoint.id}.{frame.key}"] = {
                "action": "send",
                "channel": channel_ref,
                "title": frame.title,
                "messages": [message_ref(frame.key)],
            }
        operations[f"{endpoint.id}.error"] = {
            "action": "send",
            "channel": channel_ref,
            "title": f"{endpoint.error_value} (error frame)",
            "description": "Any frame may be answered with an error frame instead of its reply.",
            "messages": [message_ref("error")],
        }
        channel: dict[str, Any] = {
            "address": endpoint.address,
            "title": endpoint.title or endpoint.consumer.rpartition(".")[2],
            "description": endpoint.description,
            "messages": messages,
        }
        if endpoint.parameters:
            channel["parameters"] = {name: {"description": text} for name, text in endpoint.parameters.items()}
        channel["x-wsroute"] = {
            "consumer": endpoint.consumer,
            "routingKey": endpoint.key,
            "errorValue": endpoint.error_value,
        }
        return channel, operations

    def _message(self, frame: _Frame, registry: SchemaRegistry) -> dict[str, Any]:
        key = self.endpoint.key
        body = registry.schema(frame.schema) if frame.schema is not None else None
        envelope: dict[str, Any] = {"type": "object", "properties": {}}
        if frame.direction in ("client", "server"):
            if frame.name is not None:
                envelope["properties"][key] = {"type": "string", "const": frame.name}
            else:
                envelope["properties"][key] = _pattern_schema(frame.pattern)
            envelope["required"] = [key]
        envelope["properties"]["ref"] = {"$ref": f"#/components/schemas/{REF_SCHEMA}"}
        payload = {**envelope, "additionalProperties": True} if body is None else {"allOf": [body, envelope]}
        message: dict[str, Any] = {}
        if frame.name is not None:
            message["name"] = frame.name
        message["title"] = frame.title
        if frame.summary:
            message["summary"] = frame.summary
        if frame.description:
            message["description"] = frame.description
        message["payload"] = payload
        message["correlationId"] = {"$ref": "#/components/correlationIds/ref"}
        extension: dict[str, Any] = {"direction": frame.direction}
        if frame.name is not None:
            extension["name"] = frame.name
        if frame.pattern is not None:
            extension["pattern"] = frame.pattern
        if frame.for_request is not None:
            extension["request"] = frame.for_request
        message["x-wsroute"] = extension
        return message


def _plan(endpoint: Endpoint, registry: SchemaRegistry) -> _Plan:
    keys: set[str] = {"error"}

    def unique(key: str) -> str:
        key = _message_key(key)
        candidate, n = key, 2
        while candidate in keys:
            candidate, n = f"{key}_{n}", n + 1
        keys.add(candidate)
        return candidate

    where_base = endpoint.address or endpoint.id
    routes: list[_Route] = []
    for route in endpoint.table:
        handler = route.handler
        where = f"{where_base} ({handler.name})"
        summary, description = _doc(handler.fn)
        handled = f"Handled by `{handler.name}`."
        if route.key is None:
            request = _Frame(
                unique("client.default"),
                "client",
                pattern=None,
                title="(default route)",
                description=f"Any `{endpoint.key}` no other route takes. {handled} {description}".strip(),
            )
        elif isinstance(route.key, str):
            request = _Frame(
                unique(f"client.{route.key}"),
                "client",
                name=route.key,
                title=route.key,
                description=f"{handled} {description}".strip(),
            )
        else:
            request = _Frame(
                unique(f"client.{route.key.pattern}"),
                "client",
                pattern=route.key.pattern,
                title=f"/{route.key.pattern}/",
                description=f"Any `{endpoint.key}` that matches the regular expression `{route.key.pattern}` "
                f"in full (Python `re.fullmatch`) and no exact route takes. {handled} {description}".strip(),
            )
        request.summary = summary
        if handler.schema is not None:
            request.schema = registry.add(handler.schema, "validation", where)
        routes.append(_Route(request, _reply(handler, request, registry, where, unique), handler))
    emitted = []
    for name, schema in endpoint.emits.items():
        frame = _Frame(unique(f"server.{name}"), "server", name=name, title=name)
        frame.summary, frame.description = _doc(schema) if isinstance(schema, type) else ("", "")
        if schema is not None and not is_open(schema):
            frame.schema = registry.add(schema, "serialization", f"{endpoint.consumer}.emits[{name!r}]")
        emitted.append(frame)
    return _Plan(endpoint, routes, emitted)


def _reply(
    handler: HandlerSpec, request: _Frame, registry: SchemaRegistry, where: str, unique: Callable[[str], str]
) -> _Frame | None:
    returns = handler.returns
    if returns is None:
        return None  # -> None: the handler sends what it sends itself
    returns, optional = without_none(returns)
    frame = _Frame(unique(f"reply.{request.key.removeprefix('client.')}"), "reply", for_request=request.key)
    frame.title = f"reply to {request.title}"
    if returns is NOT_ANNOTATED:
        frame.description = "The handler's return value (its return type is not annotated)."
    elif is_open(returns):
        frame.description = "The handler's return value: any JSON object."
    else:
        frame.schema = registry.add(returns, "serialization", where)
    if optional:
        frame.description = (frame.description + " The handler may also return nothing: then no reply.").strip()
    return frame


# -- small pieces -------------------------------------------------------------------------


def _doc(obj: object) -> tuple[str, str]:
    """A summary (the docstring's first line) and the rest; a class's own docstring only."""
    raw = vars(obj).get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    text = inspect.cleandoc(raw) if isinstance(raw, str) else ""
    first, _, rest = text.partition("\n")
    return first.strip(), rest.strip()


_UNSAFE = re.compile(r"[^A-Za-z0-9._~()*+-]+")
_COMPONENT = re.compile(r"[^A-Za-z0-9._-]+")


def _message_key(text: str) -> str:
    """A message key usable in a ``$ref`` without escaping."""
    return _UNSAFE.sub("_", text).strip("_") or "frame"


def _component_name(text: str) -> str:
    return _COMPONENT.sub("_", text)


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _pattern_schema(pattern: str | None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    ecma = _ecma_pattern(pattern) if pattern is not None else None
    if ecma is not None:
        schema["pattern"] = ecma
    return schema


def _ecma_pattern(pattern: str) -> str | None:
    """A Python regex as an anchored ECMAScript one, or ``None`` when the two dialects may differ."""
    if re.search(r"\(\?[aiLmsux]|\(\?P=|\\[AZz]|\(\?#|\(\?<[=!]|\(\?\(", pattern):
        return None
    return "^(?:" + pattern.replace("(?P<", "(?<") + ")$"


def _ref_schema() -> dict[str, Any]:
    return {
        "title": "ref",
        "description": "A correlation id chosen by the client: a string of at most "
        f"{MAX_REF_LENGTH} characters, or an integer.",
        "oneOf": [{"type": "string", "maxLength": MAX_REF_LENGTH}, {"type": "integer"}],
    }


def _error_schema(key: str, value: str) -> dict[str, Any]:
    codes = "\n".join(f"- `{code}`: {text}" for code, text in ERROR_CODES.items())
    return {
        "type": "object",
        "title": f"Error frame ({key}: {value})",
        "description": "One shape for every error, sent to the offending socket only; the connection "
        f"stays open. The frame is at most 8 KiB.\n\nCodes:\n\n{codes}",
        "properties": {
            key: {"type": "string", "const": value},
            "code": {"type": "string", "enum": [str(code) for code in ERROR_CODES]},
            "detail": {"type": "string", "description": "A human-readable sentence; do not parse it."},
            "ref": {"$ref": f"#/components/schemas/{REF_SCHEMA}"},
            "errors": {
                "type": "array",
                "maxItems": MAX_ERRORS,
                "description": "Only for `validation_error`: pydantic's error list, cut to fit.",
                "items": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "loc": {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
                        "msg": {"type": "string"},
                        "input": {},
                    },
                    "additionalProperties": True,
                },
            },
        },
        "required": [key, "code", "detail"],
        "additionalProperties": False,
    }
