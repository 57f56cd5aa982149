"""The interpreter's recursion limit stays Python's default in every entry point, although
`py_ecc` raises it to 100,000 on import (past the C stack: deep input then killed the process).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.factories import REPO_ROOT

pytestmark = pytest.mark.unit

EVERY_MODULE = """
import importlib, pkgutil, sys
for package in ("ledger_client", "oracle_bridge", "credentials", "api", "provenance"):
    importlib.import_module(package)
    for module in pkgutil.walk_packages(sys.modules[package].__path__, package + "."):
        importlib.import_module(module.name)
import provenance.cli
print(sys.getrecursionlimit())
"""


def _recursion_limit_after(program: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return int(done.stdout.split()[-1])


def test_importing_every_module_and_the_cli_keeps_the_default_recursion_limit():
    assert _recursion_limit_after(EVERY_MODULE) == 1000


def test_py_ecc_imported_before_the_ledger_client_is_undone_too():
    program = "import sys, eth_account, ledger_client; print(sys.getrecursionlimit())"
    assert _recursion_limit_after(program) == 1000


def test_a_limit_set_before_the_ledger_client_is_kept():
    program = (
        "import sys; sys.setrecursionlimit(3000); import ledger_client.chain;"
        " print(sys.getrecursionlimit())"
    )
    assert _recursion_limit_after(program) == 3000
