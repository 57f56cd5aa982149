"""`provenance events query` and `provenance event prove` against the test anvil: a captured
document read back from the read model with the standard's parameters, its events proven
against the chain, and a payload altered in SQL named as not verified (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from ledger_client.capture import Capturer
from ledger_client.db import make_engine
from ledger_client.epcis.capture_plan import plan_capture
from ledger_client.epcis.validation import Validator
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import create_read_model
from provenance.cli import app
from tests.factories import Consortium

pytestmark = pytest.mark.integration

runner = CliRunner()
LOT = DigitalLink.lot("09506000134352", "CLI-EVENTS")


def _event(second: int, biz_step: str) -> dict:
    return {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:cli-{second}",
        "eventTime": f"2026-01-01T00:00:{second:02d}Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": biz_step,
        "quantityList": [{"epcClass": LOT.uri, "quantity": 1}],
    }


@pytest.fixture
def env(consortium: Consortium, anvil, tmp_path: Path) -> dict[str, str]:
    """Three captured and indexed events; the state directory and read model of the CLI."""
    state_dir = tmp_path / "state"
    consortium.deployment.save(state_dir / "deployment.json")
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-01T00:00:00Z",
        "epcisBody": {
            "eventList": [_event(1, "receiving"), _event(2, "shipping"), _event(3, "shipping")]
        },
    }
    writer = consortium.writer()
    Capturer(writer).capture(plan_capture(document, validator=Validator()))
    url = f"sqlite:///{tmp_path / 'read_model.db'}"
    engine = make_engine(url)
    create_read_model(engine)
    Indexer(consortium.w3, consortium.deployment, engine).run_once()
    engine.dispose()
    return {
        "PROVENANCE_RPC_URL": anvil.rpc_url,
        "PROVENANCE_STATE_DIR": str(state_dir),
        "PROVENANCE_DATABASE_URL": url,
    }


def test_events_query_selects_by_the_standard_s_parameters(env):
    result = runner.invoke(
        app, ["events", "query", "-p", "EQ_bizStep=shipping", "--param", "perPage=1"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "urn:uuid:cli-2" in result.stdout and "urn:uuid:cli-3" not in result.stdout
    assert "1 event(s)" in result.stdout and "nextPageToken=" in result.stdout

    result = runner.invoke(
        app, ["events", "query", "--param", "EQ_bizStep=shipping", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["type"] == "EPCISQueryDocument"
    events = document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["eventID"] for e in events] == ["urn:uuid:cli-2", "urn:uuid:cli-3"]


def test_a_bad_parameter_is_refused_in_one_line(env):
    for args, fragment in (
        (["--param", "EQ_nonsense=1"], "'EQ_nonsense'"),
        (["--param", "novalue"], "is not NAME=VALUE"),
    ):
        result = runner.invoke(app, ["events", "query", *args], env=env)
        assert result.exit_code == 1
        assert fragment in result.stderr and "Traceback" not in result.output


def test_event_prove_verifies_and_names_a_changed_payload(env):
    result = runner.invoke(app, ["event", "prove", "urn:uuid:cli-1", "--json"], env=env)
    assert result.exit_code == 0, result.output
    proof = json.loads(result.stdout)
    assert proof["verified"] is True
    assert proof["sqlPayloadHash"] == proof["chainPayloadHash"]

    engine = make_engine(env["PROVENANCE_DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE ledger_event SET payload = replace(payload, 'receiving', 'packing')")
        )
    engine.dispose()
    result = runner.invoke(app, ["event", "prove", "urn:uuid:cli-1"], env=env)
    assert result.exit_code == 1
    assert "NO: the payload in the read model is not the one anchored" in result.stdout

    missing = runner.invoke(app, ["event", "prove", "urn:uuid:none"], env=env)
    assert missing.exit_code == 1
    assert "no indexed event has eventID 'urn:uuid:none'" in missing.stderr
