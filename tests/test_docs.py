"""The docs' examples run, and produce exactly the output their pages show.

Each page marks an output block with ``<!-- output: <module>.<function> -->`` followed by a
fenced block. The module is ``docs/src/<module>.py``, loaded under its own name; the function
returns a ``str`` or a list of lines (a coroutine function is awaited). Each block line must
equal the corresponding line the function produced, so a page cannot drift from its code.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SOURCES = DOCS / "src"
OUTPUT = re.compile(r"^<!-- output: (?P<module>\w+)\.(?P<function>\w+) -->\n```\w*\n(?P<body>.*?)^```$", re.M | re.S)
SNIPPET = re.compile(r'^--8<-- "(?P<path>[^":]+)(?::(?P<section>\w+))?"$', re.M)


def load(name: str, sources: Path = SOURCES) -> ModuleType:
    """``<sources>/<name>.py``, imported once under its own name."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, sources / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def shown_outputs() -> list[tuple[str, str, str, list[str]]]:
    """``(page, module, function, lines)`` for every output block in the docs."""
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for block in OUTPUT.finditer(page.read_text()):
            found.append((page.name, block["module"], block["function"], block["body"].splitlines()))
    return found


def run(module: str, function: str) -> list[str]:
    fn = getattr(load(module), function)
    result = asyncio.run(fn()) if inspect.iscoroutinefunction(fn) else fn()
    return [result] if isinstance(result, str) else list(result)


OUTPUTS = shown_outputs()


@pytest.mark.parametrize(
    ("page", "module", "function", "shown"), OUTPUTS, ids=[f"{p}:{m}.{f}" for p, m, f, _ in OUTPUTS]
)
def test_page_shows_what_the_example_produces(page: str, module: str, function: str, shown: list[str]) -> None:
    assert run(module, function) == shown


def test_every_example_is_included_and_checked() -> None:
    examples = {path.stem for path in SOURCES.glob("*_example.py")}
    included = set()
    for page in DOCS.glob("*.md"):
        text = page.read_text()
        # ruff >= 0.16 formats ```python blocks in Markdown and would turn an include into
        # `--8 < --"..."`; the pages wrap their includes in <!-- fmt: off --> / <!-- fmt: on -->.
        assert "--8 < --" not in text, f"{page.name}: a snippet include was mangled by a formatter"
        for snippet in SNIPPET.finditer(text):
            path = ROOT / snippet["path"]
            assert path.is_file(), f"{page.name} includes missing {snippet['path']}"
            if snippet["section"]:
                assert f"[start:{snippet['section']}]" in path.read_text(), f"{page.name}: no section {snippet[0]}"
            included.add(path.stem)
    checked = {module for _, module, function, _ in OUTPUTS if function == "main"}
    expected = {"index", "wire-format", "routing", "handlers", "validation", "middleware"}
    assert examples == {page.replace("-", "_") + "_example" for page in expected}
    assert included == examples
    assert checked == examples


# Direct checks of the properties the pages promise, so a wrong page and a wrong example
# cannot agree with each other by accident.


def frames(module: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in run(module, "main") if line.startswith("{")]


def test_refs_are_copied_onto_replies_and_errors() -> None:
    sent = frames("wire_format_example")
    assert [frame.get("ref") for frame in sent[:3]] == [7, "req-8", None]
    by_code = {frame["code"]: frame for frame in sent if "code" in frame}
    assert set(by_code) == {
        "bad_json",
        "bad_message",
        "unknown_type",
        "forbidden",
        "server_error",
        "too_large",
    }
    assert by_code["unknown_type"]["ref"] == 2  # the event-style one comes last
    assert by_code["server_error"] == {
        "type": "ERROR",
        "code": "server_error",
        "detail": "internal server error",
        "ref": 12,
    }
    assert sent[-1]["event"] == "error"


def test_server_error_is_logged_with_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    run("wire_format_example", "main")
    crashes = [r for r in caplog.records if r.name == "wsroute" and r.exc_info]
    assert len(crashes) == 1
    assert "secret database password" in str(crashes[0].exc_info[1])  # type: ignore[index]


def test_validation_errors_are_json_safe_and_skip_the_handler() -> None:
    sent = frames("validation_example")
    errors = [frame for frame in sent if frame.get("code") == "validation_error"]
    assert len(errors) == 3
    for frame in errors:
        assert isinstance(frame["errors"], list)
        for error in frame["errors"]:
            assert set(error) == {"type", "loc", "msg", "input"}  # no ctx, no url


def test_middleware_order_and_rejection() -> None:
    lines = run("middleware_example", "main")
    assert lines[:2] == ["Outer.on_connect", "Inner.on_connect"]
    assert lines[4:7] == ["Inner.on_disconnect 1000", "Outer.on_disconnect 1000", "close 4403"]
    assert not any('"ref": 2' in line for line in lines[:6])  # the dropped frame got nothing
    assert json.loads(lines[-1])["code"] == "rate_limited"


def test_duplicate_route_names_both_handlers() -> None:
    message = run("routing_example", "duplicate_error")[0]
    assert "routing_example.join " in message
    assert "routing_example.join_room" in message


def test_sync_handlers_run_in_a_worker_thread() -> None:
    sent = frames("handlers_example")
    assert sent[0] == {"type": "pong", "worker_thread": False, "ref": 1}
    assert sent[1] == {"type": "saved", "worker_thread": True, "ref": 2}
