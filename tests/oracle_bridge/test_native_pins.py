"""The C hot path loads private symbols of coincurve and pycryptodome: it is used only with
the versions its declarations were written against, the ones pyproject.toml pins."""

from __future__ import annotations

import re
import tomllib

import pytest

from oracle_bridge.native import PythonHotPath, extension, hot_path_from_environment, load_native
from tests.factories import REPO_ROOT

pytestmark = pytest.mark.unit

PYPROJECT = REPO_ROOT / "pyproject.toml"


def test_the_pins_the_c_code_checks_are_pyprojects() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pinned = dict(re.fullmatch(r"([\w-]+)(?:\[.*\])?==(.+)", d).groups() for d in dependencies)  # type: ignore[union-attr]
    assert {name: pinned[name] for name in extension.PINNED} == extension.PINNED


def test_the_installed_libraries_are_the_pinned_ones_here() -> None:
    assert extension.unpinned() is None


def test_another_version_installed_falls_back_to_the_reference(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(extension, "version", lambda name: "99.0.0")
    extension.load_extension.cache_clear()
    try:
        assert load_native() is None
        assert isinstance(hot_path_from_environment({}), PythonHotPath)
    finally:
        extension.load_extension.cache_clear()
    assert "coincurve 99.0.0 is installed but _hotpath.c was written against 21.0.0" in caplog.text


def test_provenance_native_0_chooses_the_reference_and_nothing_else_is_read() -> None:
    assert isinstance(hot_path_from_environment({"PROVENANCE_NATIVE": "0"}), PythonHotPath)
    assert hot_path_from_environment({}).name == "c"
    with pytest.raises(ValueError, match="PROVENANCE_NATIVE must be 0 or 1"):
        hot_path_from_environment({"PROVENANCE_NATIVE": "no"})


def test_the_module_names_the_libsecp256k1_it_compiles() -> None:
    native = load_native()
    assert native is not None
    assert native.libsecp256k1_version == "0.1 (npm secp256k1 5.0.1)"
