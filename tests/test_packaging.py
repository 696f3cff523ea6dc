"""The package metadata says what is true: one version, and classifiers that list exactly the
Django and Python versions the `compat` nox session tests."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import wsroute

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def noxfile_constant(name: str) -> object:
    """A literal assigned at the top level of noxfile.py (read without importing nox)."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            assert node.value is not None
            return ast.literal_eval(node.value)
    raise AssertionError(f"noxfile.py assigns no {name}")


def test_the_version_is_written_once() -> None:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    assert "version" not in project and "version" in project["dynamic"]
    hatch = pyproject()["tool"]
    assert isinstance(hatch, dict)
    assert hatch["hatch"]["version"]["path"] == "src/wsroute/__init__.py"
    assert wsroute.__version__.count(".") == 2
    assert f"## {wsroute.__version__}" in (ROOT / "CHANGELOG.md").read_text()


def test_classifiers_list_what_the_compat_session_tests() -> None:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    classifiers: list[str] = project["classifiers"]
    django_pythons = noxfile_constant("DJANGO_PYTHONS")
    assert isinstance(django_pythons, dict)
    djangos = {c.rsplit(" :: ", 1)[1] for c in classifiers if c.startswith("Framework :: Django :: ")}
    pythons = {c.rsplit(" :: ", 1)[1] for c in classifiers if c.startswith("Programming Language :: Python :: 3.")}
    assert djangos == set(django_pythons)
    assert pythons == {python for versions in django_pythons.values() for python in versions}
    assert project["requires-python"] == f">={min(pythons, key=lambda v: tuple(map(int, v.split('.'))))}"


def test_the_compatibility_page_shows_the_tested_combinations() -> None:
    page = (ROOT / "docs" / "compatibility.md").read_text()
    django_pythons = noxfile_constant("DJANGO_PYTHONS")
    django_channels = noxfile_constant("DJANGO_CHANNELS")
    assert isinstance(django_pythons, dict) and isinstance(django_channels, dict)
    for django, pythons in django_pythons.items():
        row = next(line for line in page.splitlines() if line.startswith(f"| {django}"))
        assert row.split("|")[2].strip() == ", ".join(pythons), row
        assert row.split("|")[3].strip() == ", ".join(django_channels[django]), row
