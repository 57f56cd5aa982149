"""GS1's official EPCIS 2.0 example documents, read from ../shared/conformance (never copied
into the repository)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.factories import REPO_ROOT

EXAMPLES_DIR = REPO_ROOT.parent / "shared" / "conformance" / "epcis" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES_DIR.rglob("*.jsonld"))

needs_examples = pytest.mark.skipif(
    not EXAMPLE_FILES, reason=f"GS1 EPCIS examples not found at {EXAMPLES_DIR}"
)


def example_id(path: Path) -> str:
    return str(path.relative_to(EXAMPLES_DIR))


def load(name: str) -> dict[str, Any]:
    """The example document at `name`, relative to the examples folder."""
    document: dict[str, Any] = json.loads((EXAMPLES_DIR / name).read_text(encoding="utf-8"))
    return document


def event_list(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of an EPCISDocument or EPCISQueryDocument."""
    body = document["epcisBody"]
    if "queryResults" in body:
        events: list[dict[str, Any]] = body["queryResults"]["resultsBody"]["eventList"]
        return events
    events = body["eventList"]
    return events
