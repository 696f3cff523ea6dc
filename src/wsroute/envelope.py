"""The wire format: decoding client frames and building reply and error frames.

A client frame is a JSON object in a text frame. Its routing key (``type`` or ``event``,
or whatever the consumer names) must be a string. An optional ``ref`` (string or integer)
is copied onto every reply and error the frame causes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from wsroute.errors import BadJSON, BadMessage
from wsroute.types import ErrorCode, Ref

__all__ = ["Envelope", "decode", "error_frame", "read_ref", "reply_frame"]


@dataclass(slots=True)
class Envelope:
    """A decoded client frame: its routing key, its ``ref`` and the whole object."""

    key: str
    ref: Ref | None
    content: dict[str, Any]


def read_ref(content: dict[str, Any]) -> Ref | None:
    """The frame's ``ref`` if it is a usable one (a string or a non-boolean integer)."""
    ref = content.get("ref")
    if isinstance(ref, str) or (isinstance(ref, int) and not isinstance(ref, bool)):
        return ref
    return None


def decode(text: str, key: str) -> Envelope:
    """Decode one text frame, raising ``BadJSON`` or ``BadMessage`` for anything malformed."""
    try:
        content = _DECODER.decode(text)
    except (ValueError, RecursionError):
        # RecursionError: deeply nested arrays are valid JSON that json.loads cannot parse.
        raise BadJSON("frame is not valid JSON") from None
    if not isinstance(content, dict):
        raise BadMessage(f"expected a JSON object, got {_json_kind(content)}")
    ref = read_ref(content)
    if ref is None and content.get("ref") is not None:  # "ref": null counts as no ref
        raise BadMessage("'ref' must be a string or an integer")
    routing_key = content.get(key)
    if not isinstance(routing_key, str):
        if routing_key is None and key not in content:
            raise BadMessage(f"message has no {key!r} key", ref=ref)
        raise BadMessage(f"{key!r} must be a string, got {_json_kind(routing_key)}", ref=ref)
    return Envelope(routing_key, ref, content)


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity, which are not JSON and which browsers cannot parse back.
    raise ValueError(f"{name} is not valid JSON")


# Built once: json.loads with any keyword argument builds a new decoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def reply_frame(reply: dict[str, Any], ref: Ref | None) -> dict[str, Any]:
    """A handler's reply with the request's ``ref`` added (when the request had one)."""
    if ref is None:
        return reply
    return {**reply, "ref": ref}


def error_frame(
    key: str,
    value: str,
    code: ErrorCode,
    detail: str,
    ref: Ref | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``{<key>: <value>, "code": ..., "detail": ..., ["ref": ...], ["errors": [...]]}``."""
    frame: dict[str, Any] = {key: value, "code": str(code), "detail": detail}
    if ref is not None:
        frame["ref"] = ref
    if errors is not None:
        frame["errors"] = errors
    return frame
