"""Payload validation: validation_error replies, JSON-safe errors."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import pydantic
import pytest
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from wsroute import Dispatcher, ErrorCode, RouteTableBuilder, ValidationFailed
from wsroute.validation import validator_for

if TYPE_CHECKING:
    from conftest import Connect, FakeSocket, FakeTransport, MakeTable


class Move(pydantic.BaseModel):
    type: str
    x: int
    y: int


class Nick(pydantic.BaseModel):
    type: str
    name: str

    @pydantic.field_validator("name")
    @classmethod
    def lowercase(cls, value: str) -> str:
        if value != value.lower():
            raise ValueError("name must be lowercase")
        return value


class Opaque:
    """Not JSON-serialisable: must never reach a frame."""


class Strange(pydantic.BaseModel):
    type: str
    n: int

    @pydantic.model_validator(mode="after")
    def odd(self) -> Strange:
        if self.n % 2 == 0:
            # the context holds an object json.dumps cannot serialise
            raise PydanticCustomError("even", "n must be odd", {"offender": Opaque()})
        return self


class MoveDict(TypedDict):
    type: str
    x: int
    y: int


@dataclasses.dataclass
class MoveData:
    type: str
    x: int
    y: int


async def test_valid_payload_passes_the_model_instance(
    make_table: MakeTable, connect: Connect, transport: FakeTransport, receiver: FakeSocket
) -> None:
    def on_move(socket: Any, content: Move) -> dict[str, Any]:
        socket.events.append(content)
        return {"type": "moved", "sum": content.x + content.y}

    connection = connect(Dispatcher(make_table([("move", on_move)])))
    await connection.receive('{"type": "move", "x": "2", "y": 3, "ref": 1}')
    assert receiver.events == [Move(type="move", x=2, y=3)]
    assert isinstance(receiver.events[0], Move)
    assert transport.frames == [{"type": "moved", "sum": 5, "ref": 1}]


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"type": "move", "x": 1}, id="missing-field"),
        pytest.param({"type": "move", "x": "one", "y": 2}, id="wrong-type"),
        pytest.param({"type": "move", "x": [1], "y": {"a": None}}, id="two-errors"),
    ],
)
async def test_invalid_payload_is_a_validation_error_and_the_handler_is_not_called(
    payload: dict[str, Any],
    make_table: MakeTable,
    connect: Connect,
    transport: FakeTransport,
    receiver: FakeSocket,
) -> None:
    def on_move(socket: Any, content: Move) -> None:
        socket.events.append(content)

    connection = connect(Dispatcher(make_table([("move", on_move)])))
    await connection.receive(json.dumps({**payload, "ref": "r9"}))
    assert receiver.events == []
    [frame] = transport.frames
    assert frame["type"] == "ERROR"
    assert frame["code"] == ErrorCode.VALIDATION_ERROR
    assert frame["ref"] == "r9"
    assert isinstance(frame["detail"], str)
    assert isinstance(frame["errors"], list)
    assert frame["errors"]
    for error in frame["errors"]:
        assert {"type", "loc", "msg"} <= error.keys()
    assert json.loads(json.dumps(frame))["errors"][0]["msg"] == frame["errors"][0]["msg"]


async def test_custom_validator_error_is_json_safe(
    make_table: MakeTable, connect: Connect, transport: FakeTransport, receiver: FakeSocket
) -> None:
    # pydantic puts the raw ValueError in the error's ctx
    def on_nick(socket: Any, content: Nick) -> None:
        socket.events.append(content)

    connection = connect(Dispatcher(make_table([("nick", on_nick)])))
    await connection.receive('{"type": "nick", "name": "Bob", "ref": 3}')
    assert receiver.events == []
    [frame] = transport.frames
    assert frame["code"] == "validation_error"
    assert frame["ref"] == 3
    text = json.dumps(frame)
    assert "name must be lowercase" in text
    [error] = frame["errors"]
    assert list(error["loc"]) == ["name"]
    assert "ctx" not in error
    assert "url" not in error


async def test_custom_error_with_an_object_in_its_context_is_json_safe(
    make_table: MakeTable, connect: Connect, transport: FakeTransport
) -> None:
    def on_strange(socket: Any, content: Strange) -> None:
        pass

    connection = connect(Dispatcher(make_table([("strange", on_strange)])))
    await connection.receive('{"type": "strange", "n": 2}')
    [frame] = transport.frames
    assert frame["code"] == "validation_error"
    json.dumps(frame)
    assert "Opaque" not in json.dumps(frame)


async def test_valid_payload_after_an_invalid_one_still_works(
    make_table: MakeTable, connect: Connect, transport: FakeTransport
) -> None:
    def on_nick(socket: Any, content: Nick) -> dict[str, Any]:
        return {"type": "nick", "name": content.name}

    connection = connect(Dispatcher(make_table([("nick", on_nick)])))
    await connection.receive('{"type": "nick", "name": "Bob"}')
    await connection.receive('{"type": "nick", "name": "bob"}')
    assert [frame.get("code") for frame in transport.frames] == ["validation_error", None]
    assert transport.frames[1] == {"type": "nick", "name": "bob"}
    assert transport.close_codes == []


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        pytest.param(MoveDict, {"type": "move", "x": 1, "y": 2}, id="typeddict"),
        pytest.param(MoveData, MoveData(type="move", x=1, y=2), id="dataclass"),
        pytest.param(Move, Move(type="move", x=1, y=2), id="model"),
    ],
)
async def test_schema_argument_validates(
    schema: object,
    expected: object,
    connect: Connect,
    transport: FakeTransport,
    receiver: FakeSocket,
) -> None:
    def on_move(socket: Any, content: Any) -> None:
        socket.events.append(content)

    builder = RouteTableBuilder()
    builder.add("move", on_move, schema=schema)
    connection = connect(Dispatcher(builder.build()))

    await connection.receive('{"type": "move", "x": "1", "y": 2}')
    assert receiver.events == [expected]
    assert transport.frames == []

    await connection.receive('{"type": "move", "x": "nope", "ref": 4}')
    assert len(receiver.events) == 1
    [frame] = transport.frames
    assert frame["code"] == "validation_error"
    assert frame["ref"] == 4
    assert {tuple(error["loc"]) for error in frame["errors"]} == {("x",), ("y",)}
    json.dumps(frame)


def test_validator_raises_validation_failed_with_json_safe_errors() -> None:
    validate = validator_for(Nick)
    with pytest.raises(ValidationFailed) as info:
        validate({"type": "nick", "name": "Bob"})
    assert info.value.code is ErrorCode.VALIDATION_ERROR
    assert "Nick" in info.value.detail
    json.dumps(info.value.errors)
    assert validate({"type": "nick", "name": "bob"}) == Nick(type="nick", name="bob")
