"""Every official GS1 EPCIS 2.0 example document, anchored on anvil, indexed, read back.

The examples are read from ../shared/conformance (never copied into the repository).
Each validates against our schema and the official one before anchoring and after the
round trip, and the document rebuilt from the read model canonicalises to the bytes of
the one sent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session

from ledger_client.anchoring import anchor_document
from ledger_client.db import make_engine
from ledger_client.epcis.canonical import canonicalize, event_hash
from ledger_client.epcis.document import document_from_events
from ledger_client.epcis.validation import Validator
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer import queries
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import create_read_model

pytestmark = pytest.mark.integration

CONFORMANCE_DIR = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "epcis"
EXAMPLES_DIR = CONFORMANCE_DIR / "examples"


def _documents() -> list[Path]:
    paths = sorted(EXAMPLES_DIR.rglob("*.jsonld"))
    return [p for p in paths if json.loads(p.read_text()).get("type") == "EPCISDocument"]


DOCUMENTS = _documents()


def test_the_official_examples_are_there():
    assert len(DOCUMENTS) >= 30, f"expected the GS1 examples under {EXAMPLES_DIR}"


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(official_schema_dir=CONFORMANCE_DIR / "schema")


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(EXAMPLES_DIR)))
def test_example_round_trips_through_the_chain(path, consortium, validator, tmp_path):
    sent = json.loads(path.read_text())
    validator.validate(sent)

    writer = consortium.writer()
    lot = DigitalLink.lot("09506000134352", f"EX-{DOCUMENTS.index(path)}")
    writer.create_batch(lot.uri, product_class=lot.product_class)
    anchored = anchor_document(writer, sent, batch_id=lot.batch_id, validator=validator)
    event_count = len(sent["epcisBody"]["eventList"])
    assert anchored.event_count == event_count

    engine = make_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
    create_read_model(engine)
    Indexer(consortium.w3, consortium.deployment, engine).run_once()
    with Session(engine) as session:
        rows = queries.events(session, batch_id=lot.batch_id, limit=1_000)
    assert [row.event_index for row in rows] == list(range(event_count))
    for row in rows:
        assert row.payload is not None
        assert "0x" + event_hash(row.payload.encode()).hex() == row.payload_hash

    received = document_from_events([json.loads(row.payload) for row in rows], template=sent)
    validator.validate(received)
    assert canonicalize(received) == canonicalize(sent)
