"""The documents validate against the official AsyncAPI 3.0 schema (``@asyncapi/parser``), and
the TypeScript types compile with ``tsc --strict`` and reject a wrong field.

The npm packages are installed by ``cd tools/contract && npm ci`` (``.ci/run`` does it). Without
them these tests are skipped, unless ``WSROUTE_REQUIRE_NODE=1`` (set by CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.contract import project
from tests.test_docs_django import SOURCES, load
from wsroute.typescript import render
from wsroute_django.contract import project_document

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "contract"
SAMPLES = ROOT / "docs" / "src" / "contract"
TSC_FLAGS = ["--noEmit", "--strict", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler"]
TSC_FLAGS += ["--lib", "es2022,dom"]


@pytest.fixture(scope="module")
def node() -> str:
    executable = shutil.which("node")
    missing = [
        what
        for what, present in [
            ("node", executable is not None),
            ("@asyncapi/parser", (TOOLS / "node_modules" / "@asyncapi" / "parser" / "package.json").is_file()),
            ("typescript", (TOOLS / "node_modules" / "typescript" / "bin" / "tsc").is_file()),
        ]
        if not present
    ]
    if missing:
        message = f"missing {', '.join(missing)}: install Node 20+ and run `npm ci` in tools/contract"
        if os.environ.get("WSROUTE_REQUIRE_NODE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    assert executable is not None
    return executable


def docs_documents() -> dict[str, dict[str, Any]]:
    """The document of every docs example that defines an ASGI ``application``."""
    documents = {}
    for source in sorted(SOURCES.glob("*_example.py")):
        application = getattr(load(source.stem), "application", None)
        if application is not None:
            document, problems = project_document(application, title=source.stem)
            assert not [problem for problem in problems if problem.fatal], problems
            documents[source.stem] = document
    assert {"contract_example", "decorator_style_example"} <= set(documents)
    return documents


def tsc(node: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node, str(TOOLS / "node_modules" / "typescript" / "bin" / "tsc"), *TSC_FLAGS, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_documents_are_valid_asyncapi_3(node: str, tmp_path: Path) -> None:
    documents = {**docs_documents(), "tests_project": project_document(project.application)[0]}
    files = [ROOT / "docs" / "contract" / "example-asyncapi.json"]
    for name, document in documents.items():
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(document))
    result = subprocess.run(
        [node, str(TOOLS / "validate-asyncapi.mjs"), *map(str, files)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("valid AsyncAPI 3.0.0") == len(files)


def test_the_validator_rejects_an_invalid_document(node: str, tmp_path: Path) -> None:
    document, _ = project_document(project.application)
    document["operations"]["ws_custom.error"]["messages"] = [{"$ref": "#/channels/game/messages/error"}]
    target = tmp_path / "broken.json"
    target.write_text(json.dumps(document))
    result = subprocess.run(
        [node, str(TOOLS / "validate-asyncapi.mjs"), str(target)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "asyncapi3-operation-messages-from-referred-channel" in result.stdout


def test_typed_samples_and_generated_declarations_compile(node: str, tmp_path: Path) -> None:
    generated = []
    for name, document in {**docs_documents(), "tests_project": project_document(project.application)[0]}.items():
        generated.append(tmp_path / f"{name}.d.ts")
        generated[-1].write_text(render(document))
    result = tsc(node, SAMPLES / "typed_client.ts", SAMPLES / "misuse.ts", *generated)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_field_does_not_compile(node: str) -> None:
    result = tsc(node, SAMPLES / "wrong_field.ts")
    assert result.returncode != 0
    assert "error TS2561" in result.stdout and "'txt' does not exist" in result.stdout, result.stdout
