"""The architecture stays as the README draws it: layers that only point down, modules of
one job (under 600 lines), tests that use only what production code makes public.

Layers, bottom to top: ledger_client < oracle_bridge, credentials (siblings that never
import each other) < api < provenance (the composition root). A lower layer reaches a
higher one only through a port (a Protocol) the composition root wires.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import REPO_ROOT

pytestmark = pytest.mark.unit

LAYERS = {"ledger_client": 0, "oracle_bridge": 1, "credentials": 1, "api": 2, "provenance": 3}
MAX_MODULE_LINES = 600


def _modules(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((REPO_ROOT / folder).rglob("*.py"))


def _imported(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) of each absolute import in `path`."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def upward_imports(root: Path = REPO_ROOT) -> list[str]:
    """Each import of a package from one of the same or a higher layer, as `path:line module`."""
    found = []
    for package, layer in LAYERS.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, module, _ in _imported(path):
                top = module.split(".")[0]
                if top in LAYERS and top != package and LAYERS[top] >= layer:
                    found.append(f"{path.relative_to(root)}:{line} {module}")
    return found


def test_layers_only_point_down():
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path):
    for package in LAYERS:
        (tmp_path / package).mkdir()
    (tmp_path / "credentials" / "leak.py").write_text("from oracle_bridge.config import X\n")
    (tmp_path / "api" / "fine.py").write_text("import credentials.types\n")
    assert upward_imports(tmp_path) == ["credentials/leak.py:1 oracle_bridge.config"]


def test_no_module_is_over_600_lines():
    long = {
        str(path.relative_to(REPO_ROOT)): lines
        for path in _modules(*LAYERS)
        if (lines := path.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES
    }
    assert long == {}


def test_tests_and_benchmarks_import_no_private_names():
    private = [
        f"{path.relative_to(REPO_ROOT)}:{line} {module}.{name}"
        for path in _modules("tests", "bench")
        for line, module, names in _imported(path)
        if module.split(".")[0] in LAYERS
        for name in names
        if name.startswith("_")
    ]
    assert private == []
