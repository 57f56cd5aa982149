"""What pyproject.toml declares against what the packages import and ship: every third-party
module the five packages import comes from a distribution declared (pinned) as a runtime
dependency, every runtime dependency is used, and each package ships its `py.typed`."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ledger_client", "oracle_bridge", "credentials", "api", "provenance")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Declared though no module imports them by name, each for a reason.
LOADED_INDIRECTLY = {
    "psycopg": "SQLAlchemy loads it for postgresql:// URLs",
    "cffi": "pycryptodome drives its keccak core through it (ledger_client/hashing.py)",
    "cryptography": "a fixed dependency of the platform; nothing imports it yet",
    "uvloop": "uvicorn runs its event loop on it when installed",
    "httptools": "uvicorn parses HTTP with it when installed",
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(requirements: list[str]) -> dict[str, str]:
    """Each requirement's canonical distribution name → the requirement as written."""
    found = {}
    for requirement in requirements:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert name is not None, requirement
        found[canonical(name.group())] = requirement
    return found


def imported_modules() -> dict[str, str]:
    """Top-level third-party modules the packages import → one file importing each."""
    ours = {*PACKAGES, "__future__"}
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in ours and top not in sys.stdlib_module_names:
                        found.setdefault(top, str(path.relative_to(ROOT)))
    return found


RUNTIME = declared(PYPROJECT["project"]["dependencies"])


def test_every_dependency_is_pinned():
    unpinned = [req for req in RUNTIME.values() if not re.search(r"==[\w.]+$", req)]
    assert unpinned == []
    dev = declared(PYPROJECT["project"]["optional-dependencies"]["dev"]).values()
    assert [req for req in dev if "==" not in req] == []


def test_every_imported_module_comes_from_a_declared_runtime_dependency():
    distributions = metadata.packages_distributions()
    undeclared = {}
    for module, where in imported_modules().items():
        names = {canonical(name) for name in distributions.get(module, [])}
        assert names, f"{module} (imported in {where}) is installed by no distribution"
        if not names & RUNTIME.keys():
            undeclared[module] = (sorted(names), where)
    assert undeclared == {}, "imported but not declared in [project] dependencies"


def test_every_runtime_dependency_is_used():
    distributions = metadata.packages_distributions()
    used = {
        canonical(name) for module in imported_modules() for name in distributions.get(module, [])
    }
    unused = RUNTIME.keys() - used - LOADED_INDIRECTLY.keys()
    assert unused == set(), "declared but never imported"
    assert LOADED_INDIRECTLY.keys() <= RUNTIME.keys()


def test_the_installed_versions_are_the_pinned_ones():
    for name, requirement in RUNTIME.items():
        pinned = requirement.rsplit("==", 1)[1]
        assert metadata.version(name) == pinned, requirement


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_ships_its_type_information(package):
    assert (ROOT / package / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"][package]


def test_the_license_file_is_the_one_pyproject_names():
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def _make_python(tmp_path: Path, path: str) -> subprocess.CompletedProcess[str]:
    """`make python` as on a machine with no virtualenv yet and `path` as PATH."""
    return subprocess.run(
        ["make", "--no-print-directory", "-s", "python", f"VENV={tmp_path / 'no-venv'}"],
        cwd=ROOT,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_makefile_finds_a_python_3_11(tmp_path):
    result = _make_python(tmp_path, os.environ["PATH"])
    assert result.returncode == 0, result.stderr


def test_the_makefile_stops_at_once_without_a_python_3_11(tmp_path):
    # A python3.11 and a python3 that are not 3.11 (or not working) shadow the real ones.
    for name in ("python3.11", "python3"):
        fake = tmp_path / name
        fake.write_text("#!/bin/sh\nexit 1\n")
        fake.chmod(0o755)
    result = _make_python(tmp_path, f"{tmp_path}:/usr/bin:/bin")
    assert result.returncode != 0
    assert "Python 3.11 is needed" in result.stderr
    assert "apt-get install python3.11" in result.stderr
