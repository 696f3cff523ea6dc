"""The example project's AsyncAPI document and .d.ts in docs/contract/ are what the commands
write today, and wsroute.d.ts declares everything wsroute.js exports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "docs" / "contract"
#: how docs/contract/ is regenerated (the page docs/contract.md shows the same commands)
COMMANDS = {
    "example-asyncapi.json": ["wsroute_asyncapi", "--title", "wsroute example"],
    "example.d.ts": ["wsroute_typescript", "--title", "wsroute example"],
}


def generate(command: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "example")])}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT / "example",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_committed_file_is_up_to_date(name: str) -> None:
    fresh = generate(COMMANDS[name])
    assert (GENERATED / name).read_text() == fresh, (
        f"docs/contract/{name} is out of date: cd example && python manage.py {' '.join(COMMANDS[name])} "
        f"-o ../docs/contract/{name}"
    )


def test_wsroute_d_ts_declares_what_wsroute_js_exports() -> None:
    static = ROOT / "src" / "wsroute_django" / "static" / "wsroute"
    js = (static / "wsroute.js").read_text()
    dts = (static / "wsroute.d.ts").read_text()
    exported = set(re.findall(r"^export (?:class|function|const) (\w+)", js, re.M))
    declared = set(re.findall(r"^export (?:declare )?(?:class|function|const) (\w+)", dts, re.M))
    assert exported == declared
    for cls in re.findall(r"^export class (\w+)", js, re.M):
        body = js[js.index(f"export class {cls}") :]
        body = body[: body.find("\n}\n")]
        methods = {name for name in re.findall(r"^  (\w+)\(", body, re.M) if not name.startswith("_")}
        declared_body = dts[dts.index(f"export class {cls}") :]
        declared_body = declared_body[: declared_body.find("\n}\n")]
        missing = {name for name in methods if not re.search(rf"^  {name}\b", declared_body, re.M)}
        assert not missing, f"wsroute.d.ts does not declare {cls}.{', '.join(sorted(missing))}"


def test_the_examples_declared_frames_accept_what_it_sends() -> None:
    """The table's ``STATE`` schema takes ``Game.state()`` of a new and of a finished game."""
    check = (
        "from table.models import Game; from table.views import GameState; "
        "game = Game(); GameState.model_validate(game.state()); "
        "game.board = 'XXXOO....'; game.winner = 'X'; GameState.model_validate(game.state()); print('ok')"
    )
    assert generate(["shell", "-c", check]).splitlines()[-1] == "ok"  # after Django 5.2's import note
