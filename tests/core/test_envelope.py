"""The wire format: decoding client frames, building reply and error frames."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wsroute import BadJSON, BadMessage, Envelope, ErrorCode, MessageError, decode, error_frame, reply_frame

DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


# --- valid frames -------------------------------------------------------------------------


def test_decode_returns_key_ref_and_whole_content() -> None:
    envelope = decode('{"type": "chat", "text": "hi", "ref": "r1"}', "type")
    assert envelope == Envelope(key="chat", ref="r1", content={"type": "chat", "text": "hi", "ref": "r1"})


def test_decode_without_ref() -> None:
    envelope = decode('{"type": "ping"}', "type")
    assert envelope.key == "ping"
    assert envelope.ref is None
    assert envelope.content == {"type": "ping"}


@pytest.mark.parametrize("ref", ["abc", "", 0, 7, -3, 2**70])
def test_decode_accepts_string_and_integer_refs(ref: str | int) -> None:
    envelope = decode(json.dumps({"type": "ping", "ref": ref}), "type")
    assert envelope.ref == ref
    assert type(envelope.ref) is type(ref)


def test_decode_uses_the_given_routing_key() -> None:
    envelope = decode('{"event": "join", "type": 5}', "event")
    assert envelope.key == "join"
    # the other key is just content
    assert envelope.content == {"event": "join", "type": 5}


def test_decode_keeps_an_empty_string_key() -> None:
    # an empty name is a string: it decodes, and routing then decides (unknown_type or default)
    assert decode('{"type": ""}', "type").key == ""


def test_decode_tolerates_surrounding_whitespace_and_unicode() -> None:
    envelope = decode('  \n{"type": "caf\\u00e9", "x": "\u2603"}\t', "type")
    assert envelope.key == "café"
    assert envelope.content["x"] == "\u2603"


# --- malformed frames ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("{", id="truncated"),
        pytest.param("not json", id="text"),
        pytest.param("{'type': 'x'}", id="single-quotes"),
        pytest.param('{"type": "x",}', id="trailing-comma"),
        pytest.param('{"type": "x"} {}', id="two-documents"),
        # only space, tab, CR and LF may surround a JSON value; str.isspace() says more
        pytest.param('{"type": "x"}\xa0', id="no-break-space-after"),
        pytest.param("0\xa0", id="number-then-no-break-space"),
        pytest.param('{"type": "x"}\u2028', id="line-separator-after"),
        pytest.param("1" * 5000, id="int-too-long"),
        pytest.param(DEEP_ARRAY, id="deeply-nested-array"),
        pytest.param(DEEP_OBJECT, id="deeply-nested-object"),
        # Python's json accepts these, but they are not JSON and browsers cannot parse them back
        pytest.param("NaN", id="nan"),
        pytest.param('{"type": "x", "v": Infinity}', id="infinity-in-object"),
        pytest.param('{"type": "x", "ref": -Infinity}', id="minus-infinity-ref"),
    ],
)
def test_invalid_json_is_bad_json(text: str) -> None:
    with pytest.raises(BadJSON) as info:
        decode(text, "type")
    assert info.value.code is ErrorCode.BAD_JSON
    assert info.value.ref is None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[]", id="array"),
        pytest.param('[{"type": "x"}]', id="array-of-object"),
        pytest.param("1", id="int"),
        pytest.param("2.5", id="float"),
        pytest.param('"type"', id="string"),
        pytest.param("null", id="null"),
        pytest.param("true", id="bool"),
    ],
)
def test_non_object_is_bad_message(text: str) -> None:
    with pytest.raises(BadMessage) as info:
        decode(text, "type")
    assert info.value.code is ErrorCode.BAD_MESSAGE


@pytest.mark.parametrize(
    "content",
    [
        pytest.param({}, id="empty-object"),
        pytest.param({"event": "x"}, id="other-key"),
        pytest.param({"Type": "x"}, id="wrong-case"),
    ],
)
def test_missing_key_is_bad_message(content: dict[str, Any]) -> None:
    with pytest.raises(BadMessage) as info:
        decode(json.dumps(content), "type")
    assert info.value.code is ErrorCode.BAD_MESSAGE
    assert "type" in info.value.detail


@pytest.mark.parametrize("value", [None, 1, 1.5, True, False, [], ["x"], {}, {"a": "b"}])
def test_non_string_key_is_bad_message(value: object) -> None:
    with pytest.raises(BadMessage) as info:
        decode(json.dumps({"type": value}), "type")
    assert info.value.code is ErrorCode.BAD_MESSAGE


def test_bad_message_for_a_missing_key_keeps_the_frames_ref() -> None:
    # the error caused by this frame must carry its ref (section 3)
    with pytest.raises(BadMessage) as info:
        decode('{"ref": 12}', "type")
    assert info.value.ref == 12
    with pytest.raises(BadMessage) as info:
        decode('{"ref": "r", "type": 3}', "type")
    assert info.value.ref == "r"


@pytest.mark.parametrize("ref", [True, False, 1.5, 1.0, [], [1], {}, {"id": 1}])
def test_bad_ref_type_is_bad_message(ref: object) -> None:
    with pytest.raises(BadMessage) as info:
        decode(json.dumps({"type": "ping", "ref": ref}), "type")
    assert info.value.code is ErrorCode.BAD_MESSAGE
    assert info.value.ref is None
    assert "ref" in info.value.detail


def test_decode_errors_are_message_errors() -> None:
    assert issubclass(BadJSON, MessageError)
    assert issubclass(BadMessage, MessageError)


# --- outgoing frames ----------------------------------------------------------------------


def test_reply_frame_adds_the_ref_without_mutating_the_reply() -> None:
    reply = {"type": "pong", "n": 1}
    assert reply_frame(reply, "r1") == {"type": "pong", "n": 1, "ref": "r1"}
    assert reply_frame(reply, 0) == {"type": "pong", "n": 1, "ref": 0}
    assert reply == {"type": "pong", "n": 1}


def test_reply_frame_without_ref_is_the_reply() -> None:
    reply = {"type": "pong"}
    assert reply_frame(reply, None) == {"type": "pong"}
    assert "ref" not in reply_frame(reply, None)


def test_a_frames_own_ref_wins_over_the_requests() -> None:
    # one rule for replies and for frames a handler sends: a ref the handler chose is kept
    assert reply_frame({"type": "pong", "ref": "handler's"}, "request's")["ref"] == "handler's"


def test_error_frame_minimal_shape() -> None:
    frame = error_frame("type", "ERROR", ErrorCode.UNKNOWN_TYPE, "no route for type 'x'")
    assert frame == {"type": "ERROR", "code": "unknown_type", "detail": "no route for type 'x'"}
    assert type(frame["code"]) is str
    assert json.loads(json.dumps(frame)) == frame


def test_error_frame_with_ref_and_errors() -> None:
    errors = [{"type": "missing", "loc": ["text"], "msg": "Field required", "input": {}}]
    frame = error_frame("event", "error", ErrorCode.VALIDATION_ERROR, "1 validation error", ref=5, errors=errors)
    assert frame == {
        "event": "error",
        "code": "validation_error",
        "detail": "1 validation error",
        "ref": 5,
        "errors": errors,
    }


def test_error_frame_ref_zero_is_kept() -> None:
    assert error_frame("type", "ERROR", ErrorCode.FORBIDDEN, "no", ref=0)["ref"] == 0


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_code_is_a_plain_string_on_the_wire(code: ErrorCode) -> None:
    frame = error_frame("type", "ERROR", code, "detail")
    assert json.loads(json.dumps(frame))["code"] == code.value


def test_null_ref_counts_as_no_ref() -> None:
    envelope = decode('{"type": "PING", "ref": null}', "type")
    assert envelope.ref is None
