"""`provenance trace ID` over a read model indexed from the test anvil: the graph as lines or
JSON, every bad request refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger_client.db import make_engine
from ledger_client.indexer.genealogy import node_of
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import create_read_model
from provenance.cli import app
from tests.ledger_client.indexer.indexer_factories import record
from tests.ledger_client.indexer.trace_factories import (
    EPCIS_ONLY_EVENTS,
    PALLET,
    PALLET_URN,
    SN1,
    SN2,
    A,
    C,
    D,
)

pytestmark = pytest.mark.integration

runner = CliRunner()


@pytest.fixture
def env(consortium, tmp_path: Path) -> dict[str, str]:
    writer = consortium.writer()
    record(writer, writer.create_batch(D), EPCIS_ONLY_EVENTS)
    engine = make_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
    create_read_model(engine)
    Indexer(consortium.w3, consortium.deployment, engine).run_once()
    engine.dispose()
    return {"PROVENANCE_STATE_DIR": str(tmp_path)}


def test_trace_as_json(env):
    result = runner.invoke(
        app, ["trace", PALLET_URN, "--direction", "backward", "--depth", "2", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    graph = json.loads(result.stdout)
    assert {(n["uri"], n["depth"]) for n in graph["nodes"]} == {
        (PALLET, 0),
        (SN1, 1),
        (SN2, 1),
        (C, 2),
    }
    assert {(e["source"], e["target"], e["relation"]) for e in graph["edges"]} == {
        (node_of(SN1).id, node_of(PALLET).id, "aggregation"),
        (node_of(SN2).id, node_of(PALLET).id, "aggregation"),
        (node_of(C).id, node_of(SN1).id, "transformation"),
        (node_of(C).id, node_of(SN2).id, "transformation"),
    }


def test_trace_as_lines(env):
    result = runner.invoke(app, ["trace", A, "--direction", "forward", "--depth", "1"], env=env)
    assert result.exit_code == 0, result.output
    assert f"forward trace of {A}, depth 1" in result.stdout
    assert f"{A} -> {C}  (transformation, event 0 of" in result.stdout
    assert "1 objects, 1 links" in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["https://id.gs1.org/01/09506000134353/10/LOT-A"], "09506000134353"),
        ([A, "--depth", "65"], "between 1 and 64"),
        ([A, "--direction", "up"], "'up'"),
        (["https://id.gs1.org/01/09506000134352/10/NOWHERE"], "NOWHERE is not recorded"),
    ],
)
def test_bad_requests_are_refused_in_one_line(env, args, says):
    result = runner.invoke(app, ["trace", *args], env=env)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and result.stderr.strip().count("\n") == 0
    assert says in result.stderr
