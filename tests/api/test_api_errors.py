"""The API's error vocabulary: one root under `ProvenanceError`, and no route names the
storage engine (the bridge and the stores raise their own errors, e.g. `StoreUnavailable`)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import api
from api.errors import ApiError
from ledger_client.errors import ProvenanceError

pytestmark = pytest.mark.unit

MODULES = [
    importlib.import_module(info.name)
    for info in pkgutil.walk_packages(api.__path__, prefix="api.")
]


def test_every_exception_the_api_defines_derives_from_its_root():
    defined = {
        cls
        for module in MODULES
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__.startswith("api.") and issubclass(cls, BaseException)
    }
    assert ApiError in defined
    assert issubclass(ApiError, ProvenanceError)
    assert {cls for cls in defined if not issubclass(cls, ApiError)} == set()


# api.store is the storage adapter: the one place that names the engine.
OUTSIDE_THE_STORE = [m for m in MODULES if not m.__name__.startswith("api.store")]


def test_the_store_is_the_only_exemption():
    assert (
        {m.__name__ for m in MODULES} - {m.__name__ for m in OUTSIDE_THE_STORE}
        == {m.__name__ for m in MODULES if m.__name__.split(".")[:2] == ["api", "store"]}
        != set()
    )


@pytest.mark.parametrize("module", OUTSIDE_THE_STORE, ids=lambda module: module.__name__)
def test_no_api_module_names_the_storage_engine(module):
    tree = ast.parse(Path(module.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {name for name in imported if name.split(".")[0] in ("sqlalchemy", "sqlmodel")} == set()
