"""The TypeScript generator: JSON Schema as pydantic writes it, to declarations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract import project
from wsroute.typescript import _Names, _other_names, _Writer, render
from wsroute_django.contract import project_document


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({}, "unknown"),
        ({"type": "string"}, "string"),
        ({"type": "integer"}, "number"),
        ({"type": ["string", "null"]}, "string | null"),
        ({"const": "say"}, '"say"'),
        ({"enum": ["X", "O", 3]}, '"X" | "O" | 3'),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "string | null"),
        ({"allOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}]}, "A & B"),
        ({"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}, "Array<string | number>"),
        (
            {"type": "array", "prefixItems": [{"type": "string"}, {"type": "boolean"}], "items": False},
            "[string, boolean]",
        ),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, "{\n  [member: string]: number;\n}"),
        ({"type": "object"}, "{\n  [member: string]: unknown;\n}"),
        (
            {
                "type": "object",
                "properties": {"a-b": {"type": "string", "description": "why"}, "c": {}},
                "required": ["a-b"],
            },
            '{\n  /** why */\n  "a-b": string;\n  c?: unknown;\n}',
        ),
    ],
)
def test_schemas_become_types(schema: dict[str, Any], expected: str) -> None:
    names = _Names()
    names.add("A")
    names.add("B")
    assert _Writer(names).type(schema, "") == expected


def test_component_names_become_unique_identifiers() -> None:
    names = _Names()
    for name in ("wsroute.Ref", "Model-Input", "Model_Input", "Error", "3d"):
        names.add(name)
    assert [names.ident(n) for n in ("wsroute.Ref", "Model-Input", "Model_Input", "Error", "3d")] == [
        "WsrouteRef",
        "ModelInput",
        "ModelInput2",
        "Error2",  # not the global Error
        "T3d",
    ]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("GAME_(.+)", "`GAME_${string}`"), ("ROOM:.*", "`ROOM:${string}`"), ("BET_[0-9]+", "string"), (None, "string")],
)
def test_regex_and_default_routes_become_names_the_client_may_send(pattern: str | None, expected: str) -> None:
    assert _other_names(pattern) == expected


def test_each_channel_is_an_interface_for_connect() -> None:
    text = render(project_document(project.application)[0])
    chat = text[text.index("export interface Chat {") :]
    chat = chat[: chat.index("\n}\n")]
    assert '  key: "event";' in chat
    assert '    "say": Say & {' in chat
    assert "  other: never;" in chat
    assert '    "sent": Sent & {' in chat  # a reply whose schema pins the name is an event too
    assert '    "error": WsrouteErrorFrameEventError;' in chat
    game = text[text.index("export interface GameSocket {") :]
    assert "  other: string;" in game[: game.index("\n}\n")]  # a default route takes any name
    custom = text[text.index("export interface Custom {") :]
    assert '  key: "action";' in custom and '    "failed": WsrouteErrorFrameActionFailed;' in custom
    assert render(project_document(project.application)[0]) == text
