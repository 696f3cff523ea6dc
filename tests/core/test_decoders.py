"""The frame parser (the standard library's ``raw_decode``, which skips no whitespace) agrees with
``json.loads`` on valid JSON and refuses what could never be answered."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from wsroute import BadJSON
from wsroute import envelope as env

LOADERS: dict[str, Callable[[str], Any]] = {"json": env._load}

SAME = [
    '{"type": "ping", "ref": 1}',
    '  {"type": "ping"}  ',
    '{"type": "é", "text": "\\u00e9\\ud83d\\ude00"}',
    '{"n": 1.5, "m": -0.0, "k": 12345678901234567, "big": 1000000000000000000000000000000}',
    '{"nested": ' + "[" * 200 + "]" * 200 + "}",
    "[1, 2]",
    '"just a string"',
    "null",
]
BAD = [
    "",
    "   ",
    "{",
    '{"type": "ping"} trailing',
    '{"type": "ping"}{"type": "ping"}',
    '{"n": 1e400}',
    '{"n": -1e400}',
    '{"n": [1e400]}',
    '{"n": NaN}',
    '{"n": Infinity}',
    '{"n": -Infinity}',
    '{"ref": "\\ud800"}',
    '{"\\udc00": 1}',
    '{"a": "x\\ud83d"}',
    "[" * 100_000 + "]" * 100_000,
    "{'single': 'quotes'}",
]


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("text", SAME)
def test_both_parsers_decode_valid_json_alike(loader: str, text: str) -> None:
    assert LOADERS[loader](text) == json.loads(text)


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("text", BAD, ids=lambda text: text[:24])
def test_both_parsers_refuse_what_cannot_be_answered(loader: str, text: str) -> None:
    with pytest.raises(BadJSON):
        LOADERS[loader](text)
