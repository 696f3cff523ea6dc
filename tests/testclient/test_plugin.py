"""The pytest plugin as a project meets it: a separate pytest run, with and without pytest-django."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "src" / "django" / "testing_example.py"
#: left out of a separate run's environment: SQLite and the in-memory layer, so that it
#: cannot touch this run's test database
SERVICES = {"WSROUTE_TEST_DATABASE_URL", "WSROUTE_TEST_REDIS_URL", "DJANGO_SETTINGS_MODULE", "PYTEST_ADDOPTS"}


def plugin_args() -> list[str]:
    """``-p`` for the plugin when this environment was installed before its entry point existed."""
    if importlib.metadata.entry_points(group="pytest11", name="wsroute"):
        return []
    return ["-p", "wsroute_django.testing.pytest_plugin"]


def run_pytest(directory: Path, *args: str, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in SERVICES}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(path or ROOT), str(directory), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", *plugin_args(), *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_docs_examples_pass_under_pytest_django_and_pytest_asyncio(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)  # the project's test module
    (tmp_path / "project_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\nASGI_APPLICATION = 'testing_example.application'\n"
    )
    (tmp_path / "test_marked.py").write_text(
        "import pytest\n\n@pytest.mark.django_db\nasync def test_plain_db_mark(socket_client):\n    pass\n"
    )
    result = run_pytest(
        tmp_path,
        "--ds=project_settings",
        "-o",
        "asyncio_mode=auto",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-W",
        "error",
        EXAMPLE.name,
        "test_marked.py",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    # A plain django_db mark is refused, with the fix in the message.
    assert "ERROR test_marked.py::test_plain_db_mark" in result.stdout
    assert "Mark it @pytest.mark.django_db(transaction=True)" in result.stdout
    passed = {line.split("::", 1)[1] for line in result.stdout.splitlines() if line.startswith("PASSED testing_")}
    assert passed == {
        "test_a_message_reaches_the_room",
        "test_an_empty_message_is_refused",
        "test_each_socket_has_its_row",
        "test_anonymous_players_are_turned_away",
        "ChatTests::test_a_message_reaches_the_room",
        "ChatTests::test_each_socket_has_its_row",
    }


def test_a_project_without_pytest_django_is_untouched(tmp_path: Path) -> None:
    """Neither pytest-django nor pytest-asyncio: the plugin loads, imports neither Django nor
    Channels, and needs no marker or option of theirs."""
    (tmp_path / "test_plain.py").write_text(
        "import sys\n\n"
        "def test_plain(request):\n"
        "    plugins = request.config.pluginmanager.get_plugins()\n"
        "    assert 'wsroute_django.testing.pytest_plugin' in {getattr(p, '__name__', '') for p in plugins}\n"
        "    assert 'django' not in sys.modules and 'channels' not in sys.modules\n"
    )
    result = run_pytest(
        tmp_path, "-p", "no:django", "-p", "no:asyncio", "--strict-markers", "-W", "error", "test_plain.py"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED test_plain.py::test_plain" in result.stdout


def test_the_example_projects_socket_tests_pass() -> None:
    """``cd example && pytest``: the example's sockets through its own ``project.asgi``."""
    example = ROOT / "example"
    result = run_pytest(example, path=example)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = [line for line in result.stdout.splitlines() if line.startswith("PASSED tests/test_sockets.py::")]
    assert len(passed) == 6, result.stdout


def test_the_docs_testcase_runs_under_djangos_own_test_runner(tmp_path: Path) -> None:
    """``manage.py test`` (here ``django-admin test``): no pytest at all, Django's TestCase alone."""
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    (tmp_path / "project_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\nASGI_APPLICATION = 'testing_example.application'\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in SERVICES}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(ROOT), str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    result = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-m",
            "django",
            "test",
            "testing_example",
            "--settings=project_settings",
            "-v",
            "2",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Ran 2 tests" in result.stderr
    assert "test_a_message_reaches_the_room (testing_example.ChatTests" in result.stderr
