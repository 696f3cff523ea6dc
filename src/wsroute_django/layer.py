"""Every channel-layer message wsroute sends between consumers: built and read here only.

What goes to clients is encoded to JSON once, by the sender (``json``), however many sockets
receive it: each receiving consumer splices its own routing key in front of a delivered
payload. The payload's keys so never collide with the layer's own ``type``, and a payload
JSON cannot carry fails at the sender (``FrameNotSent``), not in every receiver. Reading is
strict: a message of a wsroute type whose fields have the wrong shape is ``None`` (logged
and ignored by the consumer), never a crash. Messages from before ``json`` (a ``payload``
or ``frame`` dict) are still read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from wsroute.envelope import dump

__all__ = [
    "BATCH",
    "CALL",
    "CLOSE",
    "DELIVER",
    "PRESENCE",
    "SEND",
    "TYPES",
    "batch",
    "call",
    "close",
    "deliver",
    "excluded",
    "presence",
    "reachable_methods",
    "read",
    "read_batch",
    "send",
]

#: deliver ``{<routing key>: event, **payload}`` to the client
DELIVER: Final = "wsroute.deliver"
#: run the consumer's route for ``event`` server-side, sending nothing
CALL: Final = "wsroute.call"
#: send ``frame`` to the client as it is
SEND: Final = "wsroute.send"
#: close the socket with ``code``
CLOSE: Final = "wsroute.close"
#: a presence diff of a topic, ``{<routing key>: <the consumer's presence event>, "topic", "joins", "leaves"}``
PRESENCE: Final = "wsroute.presence"
TYPES: Final = frozenset({DELIVER, CALL, SEND, CLOSE, PRESENCE})
#: one of the messages above for many sockets of one server process, which hands it to each
BATCH: Final = "wsroute.batch"


def deliver(
    event: str, payload: Mapping[str, Any] | None = None, *, exclude: str | None = None, topic: str | None = None
) -> dict[str, Any]:
    """``{<routing key>: event, **payload}`` for every receiver but the channel ``exclude``;
    ``FrameNotSent`` if JSON cannot carry it. With ``topic``, the frame's ``topic`` is that
    name, whatever the payload says."""
    body = dict(payload or {})
    if topic is not None:
        body.pop("topic", None)
        body = {"topic": topic, **body}
    message: dict[str, Any] = {"type": DELIVER, "event": event, "json": dump(body)}
    if topic is not None:
        message["topic"] = topic  # for receivers that left it meanwhile, to drop it unread
    if exclude is not None:
        message["exclude"] = exclude
    return message


def presence(topic: str, joins: Mapping[str, Any], leaves: Mapping[str, Any]) -> dict[str, Any]:
    """A presence diff for ``topic``; each receiver puts its own presence event in front."""
    return {"type": PRESENCE, "topic": topic, "json": dump({"topic": topic, "joins": joins, "leaves": leaves})}


def excluded(message: Mapping[str, Any], channel_name: str) -> bool:
    """True when the sender asked that ``channel_name`` not get ``message`` (its own socket)."""
    return message.get("exclude") == channel_name


def batch(channel_names: list[str], message: Mapping[str, Any]) -> dict[str, Any]:
    """``message`` (one of ``TYPES``) for each of ``channel_names``, all served by one process."""
    return {"type": BATCH, "channels": channel_names, "message": dict(message)}


def read_batch(message: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]] | None:
    """``(channel names, inner message)`` of a well-formed ``BATCH``, else ``None``."""
    names, inner = message.get("channels"), message.get("message")
    if (
        message.get("type") == BATCH
        and isinstance(names, list)
        and all(isinstance(name, str) for name in names)
        and isinstance(inner, dict)
        and read(inner) is not None
    ):
        return names, inner
    return None


def call(event: str, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"type": CALL, "event": event, "payload": dict(payload or {})}


def send(frame: Mapping[str, Any]) -> dict[str, Any]:
    """``frame`` as it is, for every receiver; ``FrameNotSent`` if JSON cannot carry it."""
    return {"type": SEND, "json": dump(dict(frame))}


def close(code: int = 1000) -> dict[str, Any]:
    return {"type": CLOSE, "code": code}


def read(message: Mapping[str, Any]) -> tuple[str, Any, Any] | None:
    """``(type, a, b)`` for a well-formed wsroute message, else ``None``.

    ``DELIVER``: ``(type, event, payload)``, the payload as JSON text of an object (or a dict,
    from an older sender); ``CALL``: ``(type, event, payload dict)``; ``SEND``: ``(type, frame,
    None)``, the frame as JSON text of an object (or a dict); ``CLOSE``: ``(type, code, None)``;
    ``PRESENCE``: ``(type, topic, diff as JSON text)``.
    """
    kind = message.get("type")
    if kind == DELIVER:
        event, payload = message.get("event"), message.get("json", message.get("payload", {}))
        if isinstance(event, str) and event and _is_object(payload):
            return kind, event, payload
    elif kind == CALL:
        event, payload = message.get("event"), message.get("payload", {})
        if isinstance(event, str) and event and isinstance(payload, dict):
            return kind, event, payload
    elif kind == SEND:
        frame = message.get("json", message.get("frame"))
        if _is_object(frame):
            return kind, frame, None
    elif kind == PRESENCE:
        topic, body = message.get("topic"), message.get("json")
        if isinstance(topic, str) and isinstance(body, str) and _is_object(body):
            return kind, topic, body
    elif kind == CLOSE:
        code = message.get("code", 1000)
        if isinstance(code, int) and not isinstance(code, bool) and (code == 1000 or 3000 <= code <= 4999):
            return kind, code, None
    return None


def _is_object(value: Any) -> bool:
    """A dict, or the JSON text of one (as ``dump`` writes it)."""
    return isinstance(value, dict) or (isinstance(value, str) and value.startswith("{") and value.endswith("}"))


#: modules whose classes make up the framework: a layer message never reaches their names
_FRAMEWORK = ("wsroute_django.", "wsroute.", "channels.", "builtins")


def reachable_methods(cls: type, reserved: Iterable[str] = (), excluded: Iterable[object] = ()) -> dict[str, str]:
    """The methods of a consumer class that Channels-style layer messages may reach, keyed by
    the message type with dots as underscores (``"chat.message"`` -> ``chat_message``).

    Only public methods the user's own classes define: never a name wsroute's or Channels'
    classes define (``send_json``, ``group_add``, ``close``, ``dispatch``..., even when the
    user overrides it), nor a ``reserved`` one (hooks, the default route), nor one whose
    function is ``excluded`` (route handlers: a client's frame reaches them validated, a
    layer message would reach them raw; ``group_call_event`` is the way to run them)."""
    framework = {name for base in cls.__mro__ if base.__module__.startswith(_FRAMEWORK) for name in vars(base)}
    names = framework | set(reserved)
    functions = {id(fn) for fn in excluded}
    methods: dict[str, str] = {}
    for name in dir(cls):
        if name.startswith("_") or name in names:
            continue
        attribute = getattr(cls, name, None)
        if callable(attribute) and not isinstance(attribute, type) and id(attribute) not in functions:
            methods[name] = name
    return methods
