"""Fuzz a real daphne process with hostile frames: no socket may die, no reply go missing, no
error frame exceed 8 KiB, and nothing may be left behind.

    python bench/fuzz.py                                  100,000 frames over 20 sockets
    python bench/fuzz.py --frames 5000 --sockets 10       a quick run
    python bench/fuzz.py --database-url postgres://postgres@127.0.0.1:5432/test \\
                         --redis-url redis://127.0.0.1:6379/0

The server is one ``python -m daphne`` process on 127.0.0.1 (a free port) serving
``tests/e2e/project``, started by ``bench/_stress.py`` (shared with ``bench/soak.py``) with the
end-to-end tests' helpers (``tests/e2e/support.py``).
Its database is PostgreSQL (database ``wsroute_stress`` beside the URL's, created and
migrated if missing) and its channel layer channels-redis when their URLs are given
(``--database-url``/``--redis-url``, or ``WSROUTE_TEST_DATABASE_URL``/``WSROUTE_TEST_REDIS_URL``
as for the tests); otherwise a SQLite file in a temporary directory and the in-memory layer.
Only loopback addresses are accepted, for the server and the services alike.

The fuzzed consumers (``tests/e2e/project/stress.py``: ``/stress/dec/``, decorator style, and
``/stress/sub/``, subclass style; routes validated by pydantic models, with ``async`` and sync
handlers) have flood control off, and the server runs with ``WSROUTE["ERROR_LIMIT"] = None``:
the fuzz measures robustness, not flood control. Sockets alternate between the two styles and
all join one group. Each sends its share of the frames, at most ``--window`` unanswered at a
time, drawn (seeded) from hostile mixes: non-finite numbers (``1e400``, ``NaN``,
``Infinity``, inside lists and objects), integers over Python's 4,300 digits, nesting ~900-1000
levels deep and far deeper, frames over the 512 KiB limit (megabyte strings, keys and refs, in
ASCII and multi-byte UTF-8) and exactly at it, 3,000 extra keys, validation failures with huge
inputs, unicode-heavy routing keys, wrong types, lifecycle and internal method names as routing
keys (``on_connect``, ``websocket_receive``, ``send_json``, ``dispatch``, ``__init__``...), binary,
empty and truncated frames, garbage, lone UTF-16 surrogate escapes, handlers that raise, refuse or
return what cannot be sent;
valid requests are interleaved, each with a unique ``ref``.

Every frame must get exactly one frame back, in order: a reply for a valid request (exactly the
expected one, with its ``ref``), and for the others the error codes the wire format documents
(docs/wire-format.md), with the ``ref`` exactly when the frame had a usable one. Every error
frame must be well formed and at most 8 KiB. Then one socket floods ``/stress/flood/`` (100
frames/s, burst 200): it must get ``rate_limited`` and be closed with 4429, while a neighbour on
the same consumer and every fuzzed socket keep being answered. Finally all sockets close, and
the server's ``Socket`` rows and channels-redis group memberships must drain to zero.

Printed: sockets that died, error frames by code, the largest error frame, lost and mismatched
replies, hostile frames answered otherwise than documented, rows and Redis group members left,
the server's RSS before and after, frames/s. Exit status 1 on any failure, 130 when interrupted.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):  # run as a script: the repository root makes tests.e2e importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.support import Cluster, Server
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench._stress import (
    DAPHNE_MAX_FRAME,
    REPLY_TIMEOUT,
    STYLES,
    Footprint,
    Report,
    StressSocket,
    Style,
    argument_parser,
    dumps,
    open_sockets,
    parse_server_frame,
    run_bench,
    services,
    versions,
)
from wsroute import ErrorCode

#: the limits the wire format promises (docs/wire-format.md)
MAX_ERROR_FRAME: Final = 8 * 1024
MAX_MESSAGE_SIZE: Final = 512 * 1024
#: the error codes (``wsroute.ErrorCode``; docs/wire-format.md documents each)
ERROR_CODES: Final = frozenset(code.value for code in ErrorCode)
ERROR_MEMBERS: Final = frozenset({"code", "detail", "ref", "errors"})
SERVER_ERROR_DETAIL: Final = "internal server error"
CLOSE_FLOODING: Final = 4429
#: the text the stress consumers' failing handlers raise: it must never reach a client
SECRET: Final = "secret: this text must never reach the client"

# ---------------------------------------------------------------------------------------------
# What a frame should get back


class _NoRef:
    def __repr__(self) -> str:
        return "NOREF"


#: the answer must carry no ``ref``
NOREF: Final[Any] = _NoRef()


@dataclass(frozen=True, slots=True)
class Expect:
    """The one frame a client frame should get back."""

    #: error codes the wire format allows for it (empty: it is a valid request, ``reply`` must come)
    codes: frozenset[str] = frozenset()
    #: the reply (or, with ``partial``, members the reply must have); with ``codes``, either may come
    reply: dict[str, Any] | None = None
    partial: bool = False
    #: the ``ref`` an error frame must carry (``NOREF``: none)
    ref: Any = NOREF
    #: an error frame may carry ``ref`` or none (the frame may or may not have been decoded)
    ref_optional: bool = False
    #: any one frame will do (the wire format does not say which)
    anything: bool = False

    @property
    def valid(self) -> bool:
        return self.reply is not None and not self.codes and not self.anything

    @property
    def key_ref(self) -> Any:
        """The ``ref`` the answer will certainly carry, to match it by (``NOREF``: match by order)."""
        if self.ref_optional:
            return NOREF
        if self.reply is not None and not self.codes and not self.anything:
            return self.reply.get("ref", NOREF)
        return self.ref


def reply(frame: dict[str, Any], partial: bool = False) -> Expect:
    return Expect(reply=frame, partial=partial)


def error(*codes: str, ref: Any = NOREF, ref_optional: bool = False) -> Expect:
    return Expect(codes=frozenset(codes), ref=ref, ref_optional=ref_optional)


def same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------------------------------------
# Frame generators: each returns (the frame, what it should get back)

Frame = str | bytes

POOLS: Final = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.",
    "éüßñçøåæœÀÉÎÕÜ",
    "ЖЩЫжщыфйцукен",
    "中文字符测试漢字かなカナ한국어",
    "😀🎉🔥💩🧪👍🏽\u200d👨👩👧",
    "\u202e\u202d\u200f\u200e\u200b\u2060\ufeff\u00ad",  # bidi overrides, zero-width, BOM, soft hyphen
    "a\u0301e\u0308c\u0327\u20dd\u0489",  # combining marks
    "\x00\x01\x07\x1b\x1f\x7f\u0085\u2028\u2029",  # control characters, line and paragraph separators
    "\"\\/'`{}[]<>&%$#@!",
    "\U0001d54f\U0001f600\U000e0041\U0010fffd\uffff\ufffe",  # astral, tag characters, noncharacters
)

#: routing keys that name framework methods, hooks and ASGI/layer message types
INTERNAL_NAMES: Final = (
    "on_connect",
    "on_disconnect",
    "connect",
    "disconnect",
    "on_echo",
    "websocket_connect",
    "websocket_receive",
    "websocket_disconnect",
    "websocket.receive",
    "websocket.close",
    "websocket.send",
    "wsroute.deliver",
    "wsroute.close",
    "wsroute.call",
    "send_json",
    "send_text",
    "close_socket",
    "dispatch",
    "accept",
    "close",
    "group_add",
    "group_send",
    "group_discard",
    "group_call_event",
    "heartbeat",
    "joined",
    "default_route",
    "routes",
    "route_keys",
    "as_asgi",
    "base_send",
    "receive",
    "send",
    "scope",
    "user",
    "record",
    "_run",
    "_connect",
    "_finish",
    "_layer_message",
    "__init__",
    "__call__",
    "__class__",
    "__dict__",
    "__del__",
    "__getattribute__",
    "__init_subclass__",
    "mro",
    "PING",
    "ping",
    "ECHO",
    "echo",
)

NONFINITE: Final = (
    "1e400",
    "-1e400",
    "1E+400",
    "2e308",
    "-1.8e308",
    "NaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "[1, 2, 1e400]",
    "[NaN]",
    '{"a": [0, -Infinity]}',
    "[[[[1e999]]]]",
    '[1.5, "x", {"deep": [Infinity]}]',
)

GARBAGE: Final = (
    '{"K": "R", "n": 1, "text": "a"} x',
    '{"K": "R"}{"K": "R"}',
    "\ufeff{}",
    "{'K': 'R'}",
    '{K: "R"}',
    '{"K": "R",}',
    '{"K": "R" /* comment */}',
    '{"K": "\\x41"}',
    '{"K": "\\u12"}',
    '{"K": "R\x01"}',
    '{"K": "R\n"}',
    '{"K" "R"}',
    '{"K": undefined}',
    "True",
    "None",
    "{",
    "}",
    "[",
    '"',
    "{}}",
    '{"K": "R", "n": 01}',
    '{"K": "R", "n": 1.}',
    '{"K": "R", "n": .5}',
    '{"K": "R", "n": +1}',
    '{"K": "R", "n": 0x10}',
    "\x00",
)


class Maker:
    """Frames for one socket: its style, its random source, its unique refs."""

    def __init__(self, style: Style, index: int, seed: int) -> None:
        self.style = style
        self.index = index
        self.rng = random.Random(f"{seed}:{index}")
        self.count = 0
        self.extras = [self._extras() for _ in range(4)]

    # -- helpers

    def ref(self) -> str | int:
        """A ``ref`` no other frame of this socket carries: a string, an integer, or 128 characters of emoji."""
        self.count += 1
        kind = self.rng.random()
        if kind < 0.5:
            return f"{self.index}.{self.count}"
        if kind < 0.8:
            return (self.index + 1) * 10**9 + self.count * (1 if kind < 0.7 else -1)
        prefix = f"{self.index}.{self.count}:"
        return prefix + "😀" * (128 - len(prefix))

    def text(self, length: int) -> str:
        rng = self.rng
        return "".join(rng.choice(rng.choice(POOLS)) for _ in range(length))

    def _extras(self) -> str:
        """3,000 extra members, as JSON without the braces."""
        rng = self.rng
        values = ("0", "-1", "1.5", "true", "false", "null", '"x"', "[]", "{}", '[1, [2, {"a": null}]]', '"é😀"')
        return ", ".join(f"{dumps(f'x{i}_{self.text(rng.randint(0, 6))}')}: {rng.choice(values)}" for i in range(3000))

    def obj(self, **members: Any) -> str:
        return dumps(members)

    def echo_frame(self, ref: Any = NOREF) -> tuple[dict[str, Any], dict[str, Any]]:
        """A valid echo request and its reply (without ``ref`` unless given)."""
        rng, style = self.rng, self.style
        sync = rng.random() < 0.5
        n = rng.choice((rng.randint(-1000, 1000), rng.randint(-(2**63), 2**63), 10**30 + rng.randint(0, 9)))
        text = self.text(rng.randint(0, 200))
        frame: dict[str, Any] = {style.key: style.route("echo_sync" if sync else "echo"), "n": n, "text": text}
        if rng.random() < 0.3:
            frame["tags"] = [self.text(rng.randint(0, 5)) for _ in range(rng.randint(0, 50))]
            frame["meta"] = {self.text(rng.randint(0, 8)): rng.randint(-5, 5) for _ in range(rng.randint(0, 5))}
        answer = {style.key: style.route("echoed"), "n": n, "text": text, "handler": "sync" if sync else "async"}
        if ref is not NOREF:
            frame["ref"] = answer["ref"] = ref
        return frame, answer

    def sized(self, frame: Frame, expect: Expect) -> tuple[Frame, Expect]:
        """A text frame over the wire-format limit gets ``too_large``, whatever else it is."""
        if isinstance(frame, str) and len(frame) > MAX_MESSAGE_SIZE // 4 and utf8(frame) > MAX_MESSAGE_SIZE:
            return frame, error("too_large")
        return frame, expect

    # -- valid requests

    def valid_echo(self) -> tuple[Frame, Expect]:
        frame, answer = self.echo_frame(self.ref())
        return dumps(frame), reply(answer)

    def valid_ping(self) -> tuple[Frame, Expect]:
        if not self.style.upper:  # the subclass consumer has no PING
            return self.valid_echo()
        ref = self.ref()
        return self.obj(type="PING", ref=ref), reply({"type": "PONG", "ref": ref}, partial=True)

    def valid_odd(self) -> tuple[Frame, Expect]:
        """Valid, but unusual: duplicate keys, escapes, whitespace, null or no ref, huge numbers."""
        rng, key = self.rng, self.style.key
        kind = rng.randrange(7)
        ref = self.ref()
        frame, answer = self.echo_frame(ref)
        text = dumps(frame)
        if kind == 0:  # the last duplicate wins
            text = "{" + f'{dumps(key)}: "nope", ' + text[1:]
        elif kind == 1:  # "ref": null is no ref
            frame["ref"] = None
            del answer["ref"]
            text = dumps(frame)
        elif kind == 2:
            del frame["ref"], answer["ref"]
            text = dumps(frame)
        elif kind == 3:  # escaped routing key and value
            escaped = "".join(f"\\u{ord(char):04x}" for char in key)
            value = "".join(f"\\u{ord(char):04x}" for char in frame[key])
            text = "{" + f'"{escaped}": "{value}", ' + dumps({k: v for k, v in frame.items() if k != key})[1:]
        elif kind == 4:
            text = rng.choice((" ", "\n", "\t", "\r\n ")) + text + rng.choice((" ", "\n\n", "\t\r"))
        elif kind == 5:  # 4,300 digits: the most Python converts
            frame["n"] = answer["n"] = rng.choice((1, -1)) * (10**4299 + rng.randint(0, 9))
            text = dumps(frame)
        else:  # -0 is 0
            text = text.replace(f'"n": {dumps(frame["n"])}', '"n": -0', 1)
            answer["n"] = 0
        return text, reply(answer)

    def valid_extra_keys(self) -> tuple[Frame, Expect]:
        frame, answer = self.echo_frame(self.ref())
        text = dumps(frame)
        return text[:-1] + ", " + self.rng.choice(self.extras) + "}", reply(answer)

    def valid_big_key(self) -> tuple[Frame, Expect]:
        """A key of up to ~500 KB (under the limit): extra keys are ignored."""
        rng = self.rng
        frame, answer = self.echo_frame(self.ref())
        big = rng.choice(("k", "é", "😀")) * rng.randint(50_000, 120_000)
        frame[big] = rng.choice((1, "v", None))
        return self.sized(dumps(frame), reply(answer))

    # -- hostile frames

    def nonfinite(self) -> tuple[Frame, Expect]:
        rng = self.rng
        token = rng.choice(NONFINITE)
        where = rng.choice(("n", "text", "tags", "meta", "x", "ref", "top", "nested"))
        if where == "top":
            return token, error("bad_json")
        frame, _ = self.echo_frame(self.ref())
        text = dumps(frame)
        if where == "nested":
            token = '{"a": [1, {"b": [' + token + "]}]}"
        member = f'"{where}": {token}' if where != "meta" else f'"meta": {{"k": {token}}}'
        return text[:-1] + ", " + member + "}", error("bad_json")

    def huge_int(self) -> tuple[Frame, Expect]:
        digits = "1" * self.rng.randint(4301, 50_000)
        frame, _ = self.echo_frame(self.ref())
        text = dumps(frame)
        return text[:-1] + f', "n": {digits}' + "}", error("bad_json")

    def deep(self) -> tuple[Frame, Expect]:
        """900-1000 levels: json may or may not parse it; the answer must be one of the documented."""
        rng = self.rng
        depth = rng.randint(900, 1000)
        kind = rng.randrange(6)
        arrays = "[" * depth + "]" * depth
        objects = '{"a": ' * depth + "1" + "}" * depth
        mixed = '[{"a": ' * (depth // 2) + "1" + "}]" * (depth // 2)
        if kind == 0:
            return arrays, error("bad_json", "bad_message")
        if kind == 1:
            return rng.choice((objects, mixed)), error("bad_json", "bad_message")
        ref = self.ref()
        frame, answer = self.echo_frame(ref)
        nested = rng.choice((arrays, objects, mixed))
        if kind == 2:
            member = f'"meta": {{"k": {nested}}}'
            return dumps(frame)[:-1] + ", " + member + "}", error(
                "bad_json", "validation_error", ref=ref, ref_optional=True
            )
        if kind == 3:
            member = f'"tags": [{nested}]'
            return dumps(frame)[:-1] + ", " + member + "}", error(
                "bad_json", "validation_error", ref=ref, ref_optional=True
            )
        if kind == 4:  # an extra member: ignored if it parses
            expect = Expect(codes=frozenset({"bad_json"}), reply=answer, ref_optional=True)
            return dumps(frame)[:-1] + f', "x": {nested}' + "}", expect
        # routed to a handler that takes the dict as it is and raises
        text = self.obj(**{self.style.key: self.style.route("boom"), "ref": ref})
        return text[:-1] + f', "x": {nested}' + "}", error("bad_json", "server_error", ref=ref, ref_optional=True)

    def very_deep(self) -> tuple[Frame, Expect]:
        """Far past any recursion limit."""
        rng = self.rng
        depth = rng.randint(20_000, 200_000)
        frame = rng.choice(("[" * depth + "]" * depth, "[" * depth, '{"a":' * (depth // 3) + "1" + "}" * (depth // 3)))
        return self.sized(frame, error("bad_json"))

    def megabyte(self) -> tuple[Frame, Expect]:
        """560 KB to 1 MB: over wsroute's limit, under daphne's."""
        rng, key = self.rng, self.style.key
        size = rng.randint(560_000, 1_000_000)
        kind = rng.randrange(7)
        route = self.style.route("echo")
        head = f'{{"{key}": "{route}", "n": 1, '
        if kind == 6:
            return rng.randbytes(size), error("bad_message")
        filler, unit = {0: ("x", 1), 1: ("é", 2), 2: ("😀", 4), 3: ("k", 1), 4: ("r", 1), 5: ("ж", 2)}[kind]
        pad = filler * ((size - len(head) - 40) // unit)
        if kind in (0, 1, 2):
            text = head + f'"text": "{pad}", "ref": "{self.index}.big"}}'
        elif kind == 3:
            text = head + f'"text": "a", "{pad}": 1}}'
        elif kind == 4:
            text = head + f'"text": "a", "ref": "{pad}"}}'
        else:
            text = f'{{"{key}": "{pad}", "n": 1}}'
        assert MAX_MESSAGE_SIZE < utf8(text) < DAPHNE_MAX_FRAME
        return text, error("too_large")

    def boundary(self) -> tuple[Frame, Expect]:
        """Exactly at the limit (decoded: the text is too long) or one byte over (not decoded)."""
        rng, key = self.rng, self.style.key
        ref = f"{self.index}.edge.{self.count}"
        self.count += 1
        over = rng.random() < 0.5
        target = MAX_MESSAGE_SIZE + (1 if over else 0)
        head = f'{{"{key}": "{self.style.route("echo")}", "n": 1, "ref": "{ref}", "text": "'
        tail = '"}'
        room = target - utf8(head) - utf8(tail)
        wide = rng.choice(("é", "ж", "😀", "中"))
        width = utf8(wide)
        fill = wide * (room // width) + "x" * (room % width) if rng.random() < 0.5 else "x" * room
        text = head + fill + tail
        assert utf8(text) == target
        return text, error("too_large") if over else error("validation_error", ref=ref)

    def validation_big(self) -> tuple[Frame, Expect]:
        """Validation failures with huge inputs and many errors: the error frame stays bounded."""
        rng = self.rng
        ref = self.ref()
        frame, _ = self.echo_frame(ref)
        kind = rng.randrange(6)
        if kind == 0:
            frame["n"] = "x" * rng.randint(100_000, 200_000)
            frame["text"] = self.text(10) * rng.randint(101, 5_000)
        elif kind == 1:
            frame["tags"] = [self.text(50) for _ in range(rng.randint(51, 3000))]
        elif kind == 2:
            frame["tags"] = list(range(rng.randint(100, 20_000)))
        elif kind == 3:
            frame["meta"] = {"k" * 1000 + str(i): "v" for i in range(rng.randint(21, 300))}
        elif kind == 4:
            frame["meta"] = {self.text(200) + str(i): [i, {"x": self.text(20)}] for i in range(rng.randint(21, 600))}
        else:
            frame["text"] = rng.choice(("😀", "é", "\u0301")) * rng.randint(1001, 100_000)
            frame["n"] = [self.text(100)] * 100
        return self.sized(dumps(frame), error("validation_error", ref=ref))

    def validation(self) -> tuple[Frame, Expect]:
        rng = self.rng
        ref = self.ref()
        frame, _ = self.echo_frame(ref)
        member, value = rng.choice(
            (
                ("n", "abc"),
                ("n", []),
                ("n", {}),
                ("n", None),
                ("n", 1.5),
                ("n", "1.5"),
                ("n", "1e400"),
                ("n", "NaN"),
                ("n", ""),
                ("text", 5),
                ("text", []),
                ("text", {"k": 1}),
                ("text", None),
                ("text", "x" * 1001),
                ("tags", "abc"),
                ("tags", [1]),
                ("tags", {}),
                ("tags", [None]),
                ("meta", []),
                ("meta", {"a": "b"}),
                ("meta", {"a": 1.5}),
                ("meta", "x"),
                ("meta", {"a": None}),
            )
        )
        frame[member] = value
        if rng.random() < 0.1:
            del frame[rng.choice(("n", "text"))]
            frame.setdefault("n", "abc")
        if rng.random() < 0.15:  # a validated route other than echo
            frame = {self.style.key: self.style.route("shout"), "seq": rng.choice(("x", None, [], 1.5)), "ref": ref}
        return dumps(frame), error("validation_error", ref=ref)

    def extra_keys_invalid(self) -> tuple[Frame, Expect]:
        rng = self.rng
        ref = self.ref()
        frame, _ = self.echo_frame(ref)
        kind = rng.randrange(4)
        extras = rng.choice(self.extras)
        if kind == 0:
            frame["n"] = rng.choice(("abc", None, [], {}))
            expect = error("validation_error", ref=ref)
        elif kind == 1:
            del frame[self.style.key]
            expect = error("bad_message", ref=ref)
        elif kind == 2:
            frame[self.style.key] = "no such route " + self.text(10)
            expect = error("unknown_type", ref=ref)
        else:  # 3,000 invalid entries for one validated field
            frame["meta"] = {f"m{i}": "v" for i in range(3000)}
            expect = error("validation_error", ref=ref)
        return dumps(frame)[:-1] + ", " + extras + "}", expect

    def unicode_key(self) -> tuple[Frame, Expect]:
        rng, style = self.rng, self.style
        echo = style.route("echo")
        candidates = (
            "",
            " ",
            echo + " ",
            " " + echo,
            "\x00" + echo,
            echo + "\u200b",
            echo.swapcase(),
            "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in echo),  # fullwidth
            echo[0] + "\u0301" + echo[1:],
            "\u202e" + echo[::-1],
            "\U0001f600" * rng.randint(1, 64),
            self.text(rng.randint(1, 200)),
            self.text(8) * rng.randint(1_000, 12_000),
        )
        value = rng.choice(candidates)
        if value in style.routes:
            value += "!"
        ref = self.ref()
        return self.sized(self.obj(**{self.style.key: value, "ref": ref}), error("unknown_type", ref=ref))

    def wrong_types(self) -> tuple[Frame, Expect]:
        rng, key = self.rng, self.style.key
        ref = self.ref()
        kind = rng.randrange(4)
        if kind == 0:  # the routing key is not a string
            value = rng.choice((5, -1, 1.5, None, True, False, [], [self.style.route("echo")], {}, {"a": 1}))
            return self.obj(**{key: value, "ref": ref}), error("bad_message", ref=ref)
        if kind == 1:  # no routing key, or one spelled differently
            frame, _ = self.echo_frame(ref)
            other = rng.choice((key.upper() if key.islower() else key.lower(), key.capitalize(), key + " ", "kind"))
            frame[other] = frame.pop(key)
            return dumps(frame), error("bad_message", ref=ref)
        if kind == 2:  # a ref that is not a string or an integer
            frame, _ = self.echo_frame()
            frame["ref"] = rng.choice((True, False, 1.5, -0.0, 1e300, [], ["r"], {}, {"ref": 1}))
            return dumps(frame), error("bad_message")
        frame, _ = self.echo_frame()  # a ref too long to be copied
        frame["ref"] = rng.choice(
            (
                "r" * rng.randint(129, 50_000),
                self.text(8) * rng.randint(17, 2_000) + "!" * 129,
                10 ** rng.randint(128, 1_000),
                -(10 ** rng.randint(128, 1_000)),
            )
        )
        return self.sized(dumps(frame), error("bad_message"))

    def internal_name(self) -> tuple[Frame, Expect]:
        rng = self.rng
        name = rng.choice([name for name in INTERNAL_NAMES if name not in self.style.routes])
        ref = self.ref()
        frame, _ = self.echo_frame(ref)
        frame[self.style.key] = name
        if rng.random() < 0.5:
            frame = {self.style.key: name, "ref": ref}
        return dumps(frame), error("unknown_type", ref=ref)

    def binary(self) -> tuple[Frame, Expect]:
        rng = self.rng
        frame, _ = self.echo_frame(self.ref())
        data = rng.choice(
            (
                b"",
                rng.randbytes(rng.randint(1, 2000)),
                dumps(frame).encode(),
                b"\xff\xfe\x00\x00",
                b"\x00" * rng.randint(1, 100_000),
            )
        )
        return data, error("bad_message")

    def empty(self) -> tuple[Frame, Expect]:
        return self.rng.choice(("", " ", "\n", "\t\r\n ", " " * 10_000)), error("bad_json")

    def truncated(self) -> tuple[Frame, Expect]:
        frame, _ = self.echo_frame(self.ref())
        text = dumps(frame)
        return text[: self.rng.randint(1, len(text) - 1)], error("bad_json")

    def non_object(self) -> tuple[Frame, Expect]:
        rng = self.rng
        frame, _ = self.echo_frame(self.ref())
        text = rng.choice(
            (
                "[]",
                "[1, 2, 3]",
                dumps(self.style.route("echo")),
                '""',
                "42",
                "-0",
                "0.5",
                "1e308",
                "null",
                "true",
                "false",
                f"[{dumps(frame)}]",
                dumps(self.text(rng.randint(0, 300))),
            )
        )
        return text, error("bad_message")

    def garbage(self) -> tuple[Frame, Expect]:
        rng = self.rng
        if rng.random() < 0.3:
            return "{" + self.text(rng.randint(0, 300)) + ",", error("bad_json")  # never closed
        text = rng.choice(GARBAGE).replace("K", self.style.key).replace('"R', '"' + self.style.route("echo"))
        return text, error("bad_json")

    def handler_failure(self) -> tuple[Frame, Expect]:
        rng = self.rng
        name = rng.choice(("boom", "boom_sync", "nan", "huge", "bad_return", "forbid"))
        code = "forbidden" if name == "forbid" else "server_error"
        frame: dict[str, Any] = {self.style.key: self.style.route(name), "payload": self.text(rng.randint(0, 50))}
        if rng.random() < 0.8:
            frame["ref"] = ref = self.ref()
            return dumps(frame), error(code, ref=ref)
        return dumps(frame), error(code)

    def surrogates(self) -> tuple[Frame, Expect]:
        """Lone UTF-16 surrogates (``\\ud800``): valid JSON escapes that no UTF-8 frame can carry back."""
        rng = self.rng
        lone = rng.choice(("\\ud800", "\\udfff", "\\udc00\\ud800", "a\\ud83d"))
        ref = self.ref()
        frame, _ = self.echo_frame(ref)
        text = dumps(frame)
        where = rng.choice(("ref", "text", "route", "extra key", "meta key"))
        if where == "ref":
            text = text[:-1] + f', "ref": "{lone}"' + "}"
        elif where == "text":
            text = text[:-1] + f', "text": "{lone}"' + "}"
        elif where == "route":
            text = text[:-1] + f', {dumps(self.style.key)}: "{lone}"' + "}"
        elif where == "extra key":
            text = text[:-1] + f', "{lone}": 1' + "}"
        else:
            text = text[:-1] + f', "meta": {{"{lone}": "x"}}' + "}"
        # bad_json, wherever it is: the frame decodes to no valid text, so its ref is not read
        return text, error("bad_json")


def utf8(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


#: (category, weight, method): how often each kind of frame is sent
MIX: Final[tuple[tuple[str, float, Callable[[Maker], tuple[Frame, Expect]]], ...]] = (
    ("valid echo", 26, Maker.valid_echo),
    ("valid ping", 3, Maker.valid_ping),
    ("valid, unusual", 4, Maker.valid_odd),
    ("valid + 3,000 keys", 2, Maker.valid_extra_keys),
    ("valid + huge key", 0.3, Maker.valid_big_key),
    ("non-finite number", 7, Maker.nonfinite),
    ("over 4,300 digits", 1, Maker.huge_int),
    ("nesting 900-1000", 5, Maker.deep),
    ("nesting 20k-200k", 0.5, Maker.very_deep),
    ("over 512 KiB", 0.6, Maker.megabyte),
    ("at 512 KiB +0/+1", 0.3, Maker.boundary),
    ("validation, huge input", 1.5, Maker.validation_big),
    ("validation", 6, Maker.validation),
    ("3,000 keys, invalid", 2, Maker.extra_keys_invalid),
    ("unicode routing key", 5, Maker.unicode_key),
    ("wrong types", 7, Maker.wrong_types),
    ("internal name as key", 6, Maker.internal_name),
    ("binary", 3, Maker.binary),
    ("empty", 2, Maker.empty),
    ("truncated", 6, Maker.truncated),
    ("not an object", 3, Maker.non_object),
    ("garbage", 3, Maker.garbage),
    ("handler fails", 4, Maker.handler_failure),
    ("lone surrogate", 3, Maker.surrogates),
)


# ---------------------------------------------------------------------------------------------
# The fuzz run


@dataclass(frozen=True)
class FuzzConfig:
    frames: int = 100_000
    sockets: int = 20
    seed: int = 0
    #: unanswered frames per socket at most
    window: int = 16
    #: only these categories (None: all of ``MIX``)
    only: frozenset[str] | None = None
    #: flood one socket after the fuzz and check it alone is closed (4429)
    flood: bool = True
    #: seconds the whole fuzz phase may take
    time_limit: float = 1800.0
    #: seconds a socket waits for the answer to its oldest unanswered frame
    reply_timeout: float = REPLY_TIMEOUT


@dataclass
class Pending:
    category: str
    expect: Expect
    preview: str


@dataclass
class Tally:
    """What every socket saw, added up."""

    sent: collections.Counter[str] = field(default_factory=collections.Counter)
    bytes_sent: int = 0
    answered: collections.Counter[str] = field(default_factory=collections.Counter)
    codes: collections.Counter[str] = field(default_factory=collections.Counter)
    valid_sent: int = 0
    valid_ok: int = 0
    valid_lost: int = 0
    valid_mismatched: int = 0
    hostile_sent: int = 0
    hostile_ok: int = 0
    hostile_lost: int = 0
    unexpected: collections.Counter[str] = field(default_factory=collections.Counter)
    lost_by_category: collections.Counter[str] = field(default_factory=collections.Counter)
    largest_error: int = 0
    largest_error_category: str = "-"
    oversized_errors: int = 0
    malformed: int = 0
    extra_frames: int = 0
    samples: list[str] = field(default_factory=list)
    deaths: list[str] = field(default_factory=list)

    def sample(self, text: str) -> None:
        if len(self.samples) < 12:
            self.samples.append(text)


def error_frame_problem(frame: dict[str, Any], text: str, style: Style) -> str | None:
    """What is wrong with an error frame, per the wire format, or None."""
    if set(frame) - ERROR_MEMBERS - {style.key}:
        return f"unexpected members {sorted(set(frame) - ERROR_MEMBERS - {style.key})}"
    if frame.get("code") not in ERROR_CODES:
        return f"unknown code {frame.get('code')!r}"
    if not isinstance(frame.get("detail"), str):
        return "no detail"
    if frame["code"] == "server_error" and frame["detail"] != SERVER_ERROR_DETAIL:
        return f"server_error detail {frame['detail'][:80]!r}"
    if "errors" in frame and (frame["code"] != "validation_error" or not isinstance(frame["errors"], list)):
        return "errors member on a frame that is not validation_error"
    if "ref" in frame and not (isinstance(frame["ref"], str | int) and not isinstance(frame["ref"], bool)):
        return f"ref of type {type(frame['ref']).__name__}"
    if SECRET in text:
        return "exception text reached the client"
    return None


def judge(pending: Pending, frame: dict[str, Any] | None, text: str | bytes, style: Style, tally: Tally) -> None:
    """Compare the frame that came back with what was expected; count it."""
    expect, category = pending.expect, pending.category
    tally.answered[category] += 1
    shown = text[:160] if isinstance(text, str) else repr(text[:160])
    problem: str | None = None
    if frame is None:
        tally.malformed += 1
        problem = "the server sent something that is not a JSON object"
    elif frame.get(style.key) == style.error and "code" in frame:
        assert isinstance(text, str)
        size = len(text.encode())
        tally.codes[str(frame.get("code"))] += 1
        if size > tally.largest_error:
            tally.largest_error, tally.largest_error_category = size, category
        if size > MAX_ERROR_FRAME:
            tally.oversized_errors += 1
            problem = f"error frame of {size} bytes"
        malformed = error_frame_problem(frame, text, style)
        if malformed is not None:
            tally.malformed += 1
            problem = malformed
        elif expect.anything:
            pass
        elif frame["code"] not in expect.codes:
            problem = f"code {frame['code']!r}, expected {sorted(expect.codes) or 'a reply'}"
        elif "ref" in frame:
            if expect.ref is NOREF or not same(frame["ref"], expect.ref):
                problem = f"ref {frame['ref']!r}, expected {expect.ref!r}"
        elif expect.ref is not NOREF and not expect.ref_optional:
            problem = f"no ref, expected {expect.ref!r}"
    elif not expect.anything:
        wanted = expect.reply
        if wanted is None:
            problem = f"a reply, expected {sorted(expect.codes)}"
        elif expect.partial:
            if any(not same(frame.get(k), v) for k, v in wanted.items()):
                problem = f"reply lacks {wanted}"
        elif frame != wanted:
            problem = "reply differs from " + dumps(wanted)[:160]
    if problem is None:
        if expect.valid:
            tally.valid_ok += 1
        else:
            tally.hostile_ok += 1
        return
    if expect.valid:
        tally.valid_mismatched += 1
    else:
        tally.unexpected[category] += 1
    tally.sample(f"[{style.name}] {category}: sent {pending.preview!r} -> got {shown!r}: {problem}")


def lost(pending: Pending, style: Style, tally: Tally) -> None:
    tally.lost_by_category[pending.category] += 1
    if pending.expect.valid:
        tally.valid_lost += 1
    else:
        tally.hostile_lost += 1
    tally.sample(f"[{style.name}] {pending.category}: sent {pending.preview!r} -> no answer")


def take(queue: collections.deque[Pending], frame: dict[str, Any] | None) -> tuple[list[Pending], Pending | None]:
    """The pending frame ``frame`` answers, and those before it that were skipped (lost).

    Answers come in order. A frame carrying a ``ref`` answers the pending frame with that
    ``ref``; one without answers the oldest frame whose answer cannot carry one (the ones
    before it, whose answers must carry their ``ref``, were not answered), or else the oldest."""
    ref = frame.get("ref", NOREF) if frame is not None else NOREF
    for position, pending in enumerate(queue):
        if same(pending.expect.key_ref, ref):
            skipped = [queue.popleft() for _ in range(position)]
            return skipped, queue.popleft()
    return [], queue.popleft() if queue else None


def preview(frame: Frame) -> str:
    if isinstance(frame, bytes):
        return f"<{len(frame)} binary bytes>"
    return frame if len(frame) <= 100 else f"{frame[:80]}… ({utf8(frame)} bytes)"


class FuzzSocket(StressSocket):
    """One client socket: sends its frames, reads and judges the answers."""

    def __init__(
        self, index: int, style: Style, ws: ClientConnection, tally: Tally, patience: float = REPLY_TIMEOUT
    ) -> None:
        super().__init__(index, style, ws)
        #: seconds to wait for the answer to the oldest unanswered frame
        self.patience = patience
        self.tally = tally
        self.queue: collections.deque[Pending] = collections.deque()
        #: set whenever the reader judged a frame, or stopped
        self.progress = asyncio.Event()
        self.waiters: collections.deque[asyncio.Future[dict[str, Any]]] = collections.deque()

    def on_frame(self, text: str | bytes, frame: dict[str, Any] | None) -> None:
        if self.waiters:  # a plain request/response of the flood phase
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(frame if frame is not None else {})
            return
        skipped, pending = take(self.queue, frame)
        for missing in skipped:
            lost(missing, self.style, self.tally)
        if pending is None:
            self.tally.extra_frames += 1
            self.tally.sample(f"[{self.style.name}] an unasked-for frame: {str(text)[:160]!r}")
            return
        judge(pending, frame, text, self.style, self.tally)
        self.progress.set()

    def on_end(self) -> None:
        self.progress.set()

    async def fuzz(self, count: int, maker: Maker, mix: Sequence[tuple[str, float, Any]], window: int) -> None:
        names = [name for name, _, _ in mix]
        weights = [weight for _, weight, _ in mix]
        methods = {name: method for name, _, method in mix}
        rng = random.Random(f"mix:{maker.rng.random()}")
        for sent in range(count):
            if not await self._room(window):
                break
            # the last frame is a valid request: its reply comes after every other answer
            category = rng.choices(names, weights)[0] if sent < count - 1 else "valid echo"
            frame, expect = methods[category](maker) if sent < count - 1 else Maker.valid_echo(maker)
            self.tally.sent[category] += 1
            self.tally.bytes_sent += len(frame) if isinstance(frame, bytes) else utf8(frame)
            if expect.valid:
                self.tally.valid_sent += 1
            else:
                self.tally.hostile_sent += 1
            self.queue.append(Pending(category, expect, preview(frame)))
            try:
                await self.ws.send(frame)
            except ConnectionClosed:
                break
        await self._room(1)  # every answer in, or the reader gone, or timed out
        while self.queue:
            lost(self.queue.popleft(), self.style, self.tally)

    async def _room(self, window: int) -> bool:
        """Wait until fewer than ``window`` frames are unanswered; False if the socket is gone, or
        if ``self.patience`` seconds pass without an answer."""
        assert self.reader is not None
        while len(self.queue) >= window and not self.reader.done():
            self.progress.clear()
            try:
                await asyncio.wait_for(self.progress.wait(), self.patience)
            except TimeoutError:
                return False
        return not self.reader.done()

    async def request(self, frame: dict[str, Any]) -> dict[str, Any] | None:
        """One request/response (after the fuzz, when nothing else is unanswered)."""
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await self.ws.send(dumps(frame))
            return await asyncio.wait_for(waiter, REPLY_TIMEOUT)
        except (ConnectionClosed, TimeoutError):
            return None


async def connect_all(server: Server, paths: Sequence[str]) -> list[ClientConnection]:
    """Open a socket per path (in batches); if one cannot connect, close the others and raise."""
    opened = await open_sockets(server, paths)
    sockets = [ws for ws in opened if isinstance(ws, ClientConnection)]
    failure = next((ws for ws in opened if isinstance(ws, BaseException)), None)
    if failure is not None:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        raise failure
    return sockets


async def flood_check(server: Server, fuzzers: Sequence[FuzzSocket], report: Report) -> None:
    """One socket floods ``/stress/flood/``: it alone is rate limited and closed with 4429."""
    flooder, neighbour = await connect_all(server, ["/stress/flood/", "/stress/flood/"])
    codes: collections.Counter[str] = collections.Counter()
    pongs = 0

    async def read_flooder() -> None:
        nonlocal pongs
        with contextlib.suppress(ConnectionClosed):
            async for text in flooder:
                frame = parse_server_frame(text) or {}
                if frame.get("type") == "ERROR":
                    codes[str(frame.get("code"))] += 1
                else:
                    pongs += 1

    reader = asyncio.ensure_future(read_flooder())
    flooding = True
    sent = 0

    async def flood() -> None:
        nonlocal sent
        deadline = time.monotonic() + 30
        with contextlib.suppress(ConnectionClosed):
            while not reader.done() and time.monotonic() < deadline and sent < 1_000_000:
                await flooder.send('{"type": "PING"}')
                sent += 1
                if sent % 50 == 0:
                    await asyncio.sleep(0)  # let the others run

    async def neighbour_pings() -> tuple[int, int]:
        answered = asked = 0
        while flooding:
            asked += 1
            ref = f"n{asked}"
            try:
                await neighbour.send(dumps({"type": "PING", "ref": ref}))
                frame = parse_server_frame(await asyncio.wait_for(neighbour.recv(), REPLY_TIMEOUT)) or {}
            except (ConnectionClosed, TimeoutError):
                break
            answered += frame.get("type") == "PONG" and frame.get("ref") == ref
            await asyncio.sleep(0.05)  # a polite client: 20 frames/s at most
        return answered, asked

    async def fuzzer_echoes(fuzzer: FuzzSocket) -> tuple[int, int]:
        answered = asked = 0
        style = fuzzer.style
        while flooding or asked < 3:
            asked += 1
            ref = f"after.{fuzzer.index}.{asked}"
            frame = await fuzzer.request({style.key: style.route("echo"), "n": asked, "text": "still here", "ref": ref})
            want = {style.key: style.route("echoed"), "n": asked, "text": "still here", "handler": "async", "ref": ref}
            answered += frame == want
            if frame is None:
                break
            await asyncio.sleep(0.1)
        return answered, asked

    started = time.monotonic()
    others = asyncio.gather(neighbour_pings(), *(fuzzer_echoes(f) for f in fuzzers))
    try:
        await flood()
        await asyncio.wait([reader], timeout=REPLY_TIMEOUT)
    finally:
        flooding = False
        results = await others
    elapsed = time.monotonic() - started
    code = flooder.close_code
    (neighbour_ok, neighbour_asked), *echoes = results
    echo_ok = sum(ok for ok, _ in echoes)
    echo_asked = sum(asked for _, asked in echoes)
    neighbour_open = neighbour.close_code is None
    await neighbour.close()
    await flooder.close()
    report.line(
        f"flood: /stress/flood/ socket sent {sent} frames in {elapsed:.1f} s, got {pongs} PONGs and "
        f"{codes.get('rate_limited', 0)} rate_limited, closed with {code}; neighbour on the same consumer "
        f"{neighbour_ok}/{neighbour_asked} PONGs, {'still open' if neighbour_open else 'CLOSED'}; "
        f"fuzzed sockets {echo_ok}/{echo_asked} echoes answered meanwhile"
    )
    report.check(code == CLOSE_FLOODING, f"flooding socket closed with {code}, expected {CLOSE_FLOODING}")
    report.check(codes.get("rate_limited", 0) >= 1, "flooding socket got no rate_limited frame")
    report.check(
        codes.get("rate_limited", 0) <= elapsed + 2,
        f"{codes.get('rate_limited')} rate_limited frames in {elapsed:.0f} s",
    )
    report.check(set(codes) <= {"rate_limited"}, f"flooding socket got other errors: {dict(codes)}")
    report.check(neighbour_open and neighbour_ok == neighbour_asked, "the flood disturbed its neighbour")
    report.check(echo_ok == echo_asked, "the flood disturbed the fuzzed sockets")


async def run_fuzz(cluster: Cluster, config: FuzzConfig) -> Report:
    """Start a server on ``cluster``, fuzz it, flood it, close everything; the report says what failed."""
    mix = [entry for entry in MIX if config.only is None or entry[0] in config.only]
    if not mix:
        raise ValueError("FuzzConfig.only leaves no kind of frame to send")
    report = Report(
        f"wsroute fuzz: {config.frames} frames over {config.sockets} sockets (seed {config.seed}, "
        f"window {config.window}, {len(mix)} kinds of frame), daphne on {services(cluster)}\n{versions()}"
    )
    server = await cluster.start("fuzz", E2E_WSROUTE=json.dumps({"ERROR_LIMIT": None}))
    styles = [STYLES[i % 2] for i in range(config.sockets)]
    tally = Tally()
    flood_report = Report("")
    sockets = await connect_all(server, [f"{style.path}?join=1" for style in styles])
    fuzzers = [
        FuzzSocket(i, style, ws, tally, config.reply_timeout)
        for i, (style, ws) in enumerate(zip(styles, sockets, strict=True))
    ]
    for fuzzer in fuzzers:
        fuzzer.start()
    try:
        footprint = await Footprint.opened(cluster, server)
        shares = [config.frames // config.sockets + (i < config.frames % config.sockets) for i in range(config.sockets)]
        started = time.monotonic()
        jobs = [
            fuzzer.fuzz(share, Maker(fuzzer.style, fuzzer.index, config.seed), mix, config.window)
            for fuzzer, share in zip(fuzzers, shares, strict=True)
        ]
        timed_out = False
        try:
            async with asyncio.timeout(config.time_limit):
                await asyncio.gather(*jobs)
        except TimeoutError:
            timed_out = True
        elapsed = time.monotonic() - started
        footprint.loaded(server)
        report.check(not timed_out, f"the fuzz did not finish within {config.time_limit:.0f} s")
        if config.flood and not timed_out and server.proc.poll() is None:
            await flood_check(server, [f for f in fuzzers if f.died is None], flood_report)
    finally:
        await asyncio.gather(*(fuzzer.close() for fuzzer in fuzzers), return_exceptions=True)
    await footprint.closed(cluster, server)

    total = sum(tally.sent.values())
    deaths = [fuzzer.died for fuzzer in fuzzers if fuzzer.died]
    report.line(
        f"sent {total} frames ({tally.bytes_sent / 2**20:.1f} MiB) in {elapsed:.1f} s: {total / elapsed:.0f} frames/s"
    )
    report.line(
        f"valid requests: {tally.valid_sent} sent, {tally.valid_ok} answered correctly, "
        f"{tally.valid_lost} lost, {tally.valid_mismatched} mismatched"
    )
    report.line(
        f"hostile frames: {tally.hostile_sent} sent, {tally.hostile_ok} answered as documented, "
        f"{tally.hostile_lost} unanswered, {sum(tally.unexpected.values())} answered otherwise"
    )
    report.line("error frames by code: " + ", ".join(f"{code} {n}" for code, n in sorted(tally.codes.items())))
    report.line(
        f"largest error frame: {tally.largest_error} bytes (from '{tally.largest_error_category}'; limit "
        f"{MAX_ERROR_FRAME}); over the limit: {tally.oversized_errors}; malformed: {tally.malformed}; "
        f"unasked-for frames: {tally.extra_frames}"
    )
    kinds = [name for name, _, _ in MIX if tally.sent[name]]
    report.line("frames per kind: " + ", ".join(f"{name} {tally.sent[name]}" for name in kinds))
    if tally.unexpected or tally.lost_by_category:
        report.line(
            "not as documented, per kind: "
            + ", ".join(
                f"{name} {tally.unexpected[name]} otherwise/{tally.lost_by_category[name]} unanswered"
                for name in sorted(set(tally.unexpected) | set(tally.lost_by_category))
            )
        )
    report.lines += flood_report.lines
    report.failures += flood_report.failures
    report.line(f"sockets died: {len(deaths)} of {len(fuzzers)}" + "".join(f"\n  {death}" for death in deaths))
    report.line(footprint.rows_line())
    report.line(footprint.server_line(server, "after the fuzz"))
    for sample in tally.samples:
        report.line(f"  e.g. {sample}")

    footprint.check(report, config.sockets)
    report.check(not deaths, f"{len(deaths)} sockets died")
    report.check(tally.valid_lost == 0, f"{tally.valid_lost} lost replies")
    report.check(tally.valid_mismatched == 0, f"{tally.valid_mismatched} mismatched replies")
    report.check(tally.hostile_lost == 0, f"{tally.hostile_lost} hostile frames unanswered")
    report.check(not tally.unexpected, f"{sum(tally.unexpected.values())} frames answered otherwise than documented")
    report.check(tally.oversized_errors == 0, f"{tally.oversized_errors} error frames over {MAX_ERROR_FRAME} bytes")
    report.check(tally.malformed == 0, f"{tally.malformed} malformed frames from the server")
    report.check(tally.extra_frames == 0, f"{tally.extra_frames} unasked-for frames")
    report.check(total == config.frames, f"only {total} of {config.frames} frames sent")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(__doc__)
    parser.add_argument("--frames", type=int, default=FuzzConfig.frames, help="frames in all (default: %(default)s)")
    parser.add_argument("--sockets", type=int, default=FuzzConfig.sockets, help="sockets (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=FuzzConfig.seed, help="random seed (default: %(default)s)")
    parser.add_argument("--window", type=int, default=FuzzConfig.window, help="unanswered frames per socket")
    parser.add_argument("--no-flood", action="store_true", help="skip the flood check")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=FuzzConfig.time_limit,
        help="seconds the fuzz may take (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.frames < 1 or args.sockets < 1 or args.window < 1:
        parser.error("--frames, --sockets and --window must be positive")
    config = FuzzConfig(
        frames=args.frames,
        sockets=args.sockets,
        seed=args.seed,
        window=args.window,
        flood=not args.no_flood,
        time_limit=args.time_limit,
    )
    return run_bench(args, lambda cluster: run_fuzz(cluster, config))


if __name__ == "__main__":
    sys.exit(main())
