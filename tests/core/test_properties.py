"""Property tests: whatever a client sends, the dispatcher answers with exactly one sane frame."""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsroute import Dispatcher, ErrorCode, RouteTableBuilder

if TYPE_CHECKING:
    from conftest import FakeSocket, FakeTransport

ERROR_CODES = {code.value for code in ErrorCode}
ITEM = re.compile(r"item\.(\d+)")

# make_transport / make_socket are stateless factories, safe to share between examples;
# no deadline: the property is about answers, never about timing.
PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


async def on_echo(socket: Any, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "echoed", "content": content}


async def on_item(socket: Any, content: dict[str, Any], *, match: re.Match[str] | None) -> dict[str, Any]:
    assert match is not None
    return {"type": "item", "id": match[1]}


def on_default(socket: Any, content: dict[str, Any] | None = None) -> dict[str, Any]:
    assert content is not None
    return {"type": "fallback", "key": content["type"]}


def make_dispatcher(with_default: bool) -> Dispatcher:
    builder = RouteTableBuilder(owner="property table")
    builder.add("echo", on_echo)
    builder.add(ITEM, on_item)
    if with_default:
        builder.set_default(on_default)
    return Dispatcher(builder.build())


DISPATCHERS = {False: make_dispatcher(False), True: make_dispatcher(True)}


# --- strategies ---------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)
routing_values = st.one_of(
    st.sampled_from(["echo", "item.1", "item.042", "item.", "item.x", "ECHO", "ERROR", "", "echo "]),
    st.text(max_size=12),
    json_values,
)
ref_values = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.floats(), st.none(), json_values)
messages = st.tuples(
    st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    st.fixed_dictionaries({}, optional={"type": routing_values, "ref": ref_values}),
).map(lambda parts: {**parts[0], **parts[1]})
frames = st.one_of(
    st.text(),
    json_values.map(json.dumps),
    messages.map(json.dumps),
)


# --- an independent model of the wire format and the routing rules -------------------------


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity are Python's extension, not JSON


def reject_overflow(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise ValueError(f"{literal} is too large for a float")  # 1e400 would be inf: not JSON's
    return value


def expected_answer(text: str, with_default: bool) -> tuple[str, Any, Any]:
    """``("error", code, ref)`` or ``("reply", frame, None)`` for one client frame."""
    try:
        content = json.loads(text, parse_constant=reject_constant, parse_float=reject_overflow)
    except (ValueError, RecursionError):
        return "error", "bad_json", None
    if not isinstance(content, dict):
        return "error", "bad_message", None
    ref = content.get("ref")
    ref_ok = isinstance(ref, str) or (isinstance(ref, int) and not isinstance(ref, bool))
    if ref is not None and not ref_ok:  # "ref": null counts as no ref
        return "error", "bad_message", None
    ref = ref if ref_ok else None
    key = content.get("type")
    if not isinstance(key, str):
        return "error", "bad_message", ref
    if key == "echo":
        reply: dict[str, Any] = {"type": "echoed", "content": content}
    elif (match := ITEM.fullmatch(key)) is not None:
        reply = {"type": "item", "id": match[1]}
    elif with_default:
        reply = {"type": "fallback", "key": key}
    else:
        return "error", "unknown_type", ref
    return "reply", reply if ref is None else {**reply, "ref": ref}, None


async def check_one_frame(text: str, with_default: bool, transport: FakeTransport, receiver: FakeSocket) -> None:
    await DISPATCHERS[with_default].connect(transport, receiver).receive(text)

    assert len(transport.frames) == 1
    [frame] = transport.frames
    serialised = json.dumps(frame, sort_keys=True, allow_nan=False)  # must not raise, and be strict JSON
    assert transport.close_codes == []

    kind, expected, ref = expected_answer(text, with_default)
    if kind == "error":
        assert frame["type"] == "ERROR"
        assert frame["code"] in ERROR_CODES
        assert frame["code"] == expected
        assert isinstance(frame["detail"], str)
        assert frame.get("ref") == ref
    else:
        assert serialised == json.dumps(expected, sort_keys=True)


# --- properties ---------------------------------------------------------------------------


@pytest.mark.parametrize("with_default", [False, True], ids=["no-default", "default"])
@PROPERTY_SETTINGS
@given(text=frames)
async def test_any_frame_gets_exactly_one_sane_answer(
    with_default: bool, text: str, make_transport: type[FakeTransport], make_socket: type[FakeSocket]
) -> None:
    await check_one_frame(text, with_default, make_transport(), make_socket())


@pytest.mark.parametrize("with_default", [False, True], ids=["no-default", "default"])
@PROPERTY_SETTINGS
@given(message=messages)
async def test_any_json_object_gets_exactly_one_sane_answer(
    with_default: bool,
    message: dict[str, Any],
    make_transport: type[FakeTransport],
    make_socket: type[FakeSocket],
) -> None:
    await check_one_frame(json.dumps(message), with_default, make_transport(), make_socket())


@settings(PROPERTY_SETTINGS, max_examples=100)
@given(texts=st.lists(frames, min_size=1, max_size=5))
async def test_one_connection_survives_any_sequence_of_frames(
    texts: list[str], make_transport: type[FakeTransport], make_socket: type[FakeSocket]
) -> None:
    transport = make_transport()
    connection = DISPATCHERS[False].connect(transport, make_socket())
    for text in texts:
        await connection.receive(text)
    assert len(transport.frames) == len(texts)
    assert transport.close_codes == []
    for text, frame in zip(texts, transport.frames, strict=True):
        kind, expected, _ = expected_answer(text, with_default=False)
        assert (frame.get("code") if kind == "error" else frame["type"]) == (
            expected if kind == "error" else expected["type"]
        )
