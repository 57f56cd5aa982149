"""Every custom error in contracts/src says when it is raised and what its arguments are.

solc checks that a `@param` names a real argument, not that there is one per argument,
nor that the error is documented at all; this keeps both true as errors are added.
"""

from __future__ import annotations

import re

import pytest

from tests.factories import REPO_ROOT

pytestmark = pytest.mark.unit

SOURCES = REPO_ROOT / "contracts" / "src"
# The `///` lines right above an error, and the error's arguments.
ERROR = re.compile(r"((?:[ \t]*///[^\n]*\n)*)[ \t]*error (\w+)\(([^)]*)\);")


def undocumented_errors() -> list[str]:
    """`file: Error — what is missing` for each error short of a @notice or of a @param."""
    problems = []
    for path in sorted(SOURCES.rglob("*.sol")):
        for doc, name, args in ERROR.findall(path.read_text(encoding="utf-8")):
            where = f"{path.relative_to(SOURCES)}: {name}"
            if "@notice" not in doc:
                problems.append(f"{where} — no @notice")
            arguments = [arg.split()[-1] for arg in args.split(",") if arg.strip()]
            documented = re.findall(r"@param (\w+)", doc)
            if documented != arguments:
                problems.append(f"{where} — @param {documented}, arguments {arguments}")
    return problems


def test_every_custom_error_has_a_notice_and_a_param_per_argument() -> None:
    assert undocumented_errors() == []


def test_the_check_sees_every_error() -> None:
    sources = "".join(p.read_text(encoding="utf-8") for p in SOURCES.rglob("*.sol"))
    declared = re.findall(r"^\s*error \w+\(", sources, re.MULTILINE)
    assert len(ERROR.findall(sources)) == len(declared) > 0
