"""`/api/v1/batches/…`, `/trace/…`, `/recall-scope/…` over a genealogy indexed from the chain
(EPCIS transformations and aggregations only), and the readings routes over a fake bridge
store: any authenticated principal, 401 without, 400 naming a bad identifier, 404 unknown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from api.app import create_app
from api.store.tokens import TokenStore
from ledger_client.indexer.genealogy import GenealogyLink, node_of
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.lots import ReadModelLots
from ledger_client.indexer.read_model import create_read_model
from ledger_client.roles import Role
from oracle_bridge.batch_readings import (
    DeviceSummary,
    ProofCheck,
    ReadingsPage,
    StoredReading,
)
from oracle_bridge.errors import ReadingNotAnchored, ReadingNotFound
from oracle_bridge.readings import Reading
from tests.factories import ScratchDatabases
from tests.ledger_client.indexer.indexer_factories import record
from tests.ledger_client.indexer.trace_factories import (
    CARRIER,
    EPCIS_ONLY_EVENTS,
    PALLET,
    PALLET_URN,
    SN1,
    SN2,
    A,
    B,
    C,
    D,
)
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

pytestmark = pytest.mark.integration

ORG = "did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
DEVICE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


class ReadModelDatabases(ScratchDatabases):
    prefix = "read_model"

    def create_tables(self, engine: Engine) -> None:
        create_read_model(engine)


@pytest.fixture
def read_model(api_databases, tmp_path: Path, request) -> Iterator[Engine]:
    """A read model on the same backend as the API's database."""
    postgres = (
        request.getfixturevalue("postgres_url") if api_databases.backend != "sqlite" else None
    )
    databases = ReadModelDatabases(api_databases.backend, tmp_path, postgres)
    try:
        yield databases.engine()
    finally:
        databases.close()


class FakeReadings:
    """The bridge's store, as the routes see it."""

    def __init__(self, batch_id: bytes) -> None:
        self.reading = Reading(DEVICE, batch_id, 7, 1_700_000_000, 4_500, 550)
        self.pages: list[tuple[bytes, int, int]] = []

    def page(self, batch_id: bytes, *, offset: int, limit: int) -> ReadingsPage:
        self.pages.append((batch_id, offset, limit))
        return ReadingsPage([StoredReading(self.reading, b"\x01" * 65, "0x" + "ab" * 32)], 41)

    def summary(self, batch_id: bytes) -> list[DeviceSummary]:
        return [DeviceSummary(DEVICE, 3, 1, 601, 2.0, 9.5, 5.123, 300)]

    def proof(self, device: str, seq: int) -> ProofCheck:
        if seq == 404:
            raise ReadingNotFound(f"no reading {seq} of {device} in the bridge's inbox")
        if seq == 409:
            raise ReadingNotAnchored(f"reading {seq} of {device} is not anchored yet")
        return ProofCheck(
            self.reading, 1, (b"\x02" * 32,), b"\x03" * 32, "0x" + "cd" * 32, 12, seq == 7, None
        )


@pytest.fixture
def served(consortium, api_engine, read_model):
    """(client, bearer headers, D's batch id, the fake readings)."""
    writer = consortium.writer()
    lot_d = writer.create_batch(D)
    record(writer, lot_d, EPCIS_ONLY_EVENTS)
    Indexer(consortium.w3, consortium.deployment, read_model).run_once()
    tokens = TokenStore(api_engine)
    issued = tokens.issue(organization=ORG, role=Role.OPERATOR, chain_id=31337)
    readings = FakeReadings(lot_d)
    app = create_app(
        FakeIngestor(),
        tokens=tokens,
        standing=lambda organization, role: None,
        lot_reads=ReadModelLots(read_model),
        readings_reader=readings,
    )
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {issued.token}"}, lot_d, readings


def ids(*uris: str) -> set[str]:
    return {node_of(uri).id for uri in uris}


def test_trace_both_ways_over_http(served):
    client, auth, lot_d, _ = served
    backward = client.get(f"/api/v1/trace/{PALLET_URN}", headers=auth)
    forward = client.get(
        f"/api/v1/trace/{A}", params={"direction": "forward", "depth": 2}, headers=auth
    )

    assert backward.status_code == 200, backward.text
    body = backward.json()
    assert body["root"] == {"id": node_of(PALLET).id, "uri": PALLET, "depth": 0}
    assert {(n["uri"], n["depth"]) for n in body["nodes"]} == {
        (PALLET, 0),
        (SN1, 1),
        (SN2, 1),
        (C, 2),
        (A, 3),
        (B, 3),
    }
    edge = next(
        e for e in body["edges"] if e["source"] == node_of(C).id and e["target"] == node_of(SN1).id
    )
    assert edge["relation"] == "transformation"
    assert edge["event"] == {"batchId": "0x" + lot_d.hex(), "eventIndex": 2}
    assert edge["transformationId"].startswith("urn:uuid:")
    assert forward.status_code == 200, forward.text
    assert {n["id"] for n in forward.json()["nodes"]} == ids(A, C, D, SN1, SN2)


def test_a_read_model_from_before_the_genealogy_links_answers_503_until_indexed(served, read_model):
    client, auth, _, _ = served
    with Session(read_model) as session:
        session.execute(delete(GenealogyLink))
        session.commit()
    for path in (f"/api/v1/trace/{PALLET_URN}", f"/api/v1/recall-scope/{B}"):
        response = client.get(path, headers=auth)
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert "index rebuild" in response.json()["detail"]


def test_recall_scope_over_http(served):
    client, auth, _, _ = served
    response = client.get(f"/api/v1/recall-scope/{B}", headers=auth)

    assert response.status_code == 200, response.text
    objects = {o["uri"]: o for o in response.json()["objects"]}
    assert set(objects) == {C, D, SN1, SN2, PALLET}
    assert objects[PALLET]["holder"] == {
        "party": CARRIER,
        "type": "possessing_party",
        "source": "epcis",
    }
    assert objects[D]["status"] == "ACTIVE" and objects[D]["kind"] == "LOT"
    assert objects[SN2]["kind"] == "ITEM" and objects[SN2]["status"] is None


def test_batch_by_digital_link_or_id_with_its_readings_summary(served):
    client, auth, lot_d, _ = served
    by_uri = client.get(f"/api/v1/batches/{D}", headers=auth)
    by_id = client.get(f"/api/v1/batches/0x{lot_d.hex().upper()}", headers=auth)

    assert by_uri.status_code == 200, by_uri.text
    body = by_uri.json()
    assert body == by_id.json()
    assert body["batchId"] == "0x" + lot_d.hex() and body["uri"] == D
    assert body["status"] == "ACTIVE" and body["statusHistory"] == []
    assert [e["eventIndex"] for e in body["events"]] == list(range(len(EPCIS_ONLY_EVENTS)))
    assert body["events"][3]["eventType"] == "AggregationEvent"
    assert body["readings"] == [
        {
            "device": DEVICE,
            "readings": 3,
            "firstTimestamp": 1,
            "lastTimestamp": 601,
            "minC": 2.0,
            "maxC": 9.5,
            "meanKineticC": 5.123,
            "secondsOutOfRange": 300,
        }
    ]


def test_batch_readings_are_paged_and_the_page_size_capped(served):
    client, auth, lot_d, readings = served
    page = client.get(
        f"/api/v1/batches/{D}/readings", params={"offset": 40, "limit": 5}, headers=auth
    )
    too_big = client.get(f"/api/v1/batches/{D}/readings", params={"limit": 1001}, headers=auth)
    negative = client.get(f"/api/v1/batches/{D}/readings", params={"offset": -1}, headers=auth)

    assert page.status_code == 200, page.text
    assert page.json()["total"] == 41 and page.json()["readings"][0]["seq"] == 7
    assert page.json()["readings"][0]["anchorTx"] == "0x" + "ab" * 32
    assert (too_big.status_code, negative.status_code) == (400, 400)
    assert "1000" in too_big.json()["detail"]
    assert readings.pages == [(lot_d, 40, 5)], "a refused page reads nothing"


def test_reading_proof_over_http(served):
    client, auth, lot_d, _ = served
    good = client.get(f"/api/v1/readings/{DEVICE.lower()}/7/proof", headers=auth)
    failed = client.get(f"/api/v1/readings/{DEVICE}/8/proof", headers=auth)

    assert good.status_code == 200, good.text
    assert good.json()["verified"] is True
    assert good.json()["merkleRoot"] == "0x" + "03" * 32
    assert good.json()["tx"] == "0x" + "cd" * 32
    assert failed.json()["verified"] is False
    for path, status, says in (
        (f"/api/v1/readings/{DEVICE}/404/proof", 404, "no reading 404"),
        (f"/api/v1/readings/{DEVICE}/409/proof", 409, "not anchored yet"),
        ("/api/v1/readings/0x1234/7/proof", 400, "'0x1234'"),
        (f"/api/v1/readings/{DEVICE}/seven/proof", 400, "'seven'"),
    ):
        response = client.get(path, headers=auth)
        assert response.status_code == status, (path, response.text)
        assert says in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/api/v1/trace/https://id.gs1.org/01/09506000134353/10/LOT-A", 400, "09506000134353"),
        ("/api/v1/trace/nonsense", 400, "'nonsense'"),
        (f"/api/v1/trace/{A}?depth=65", 400, "between 1 and 64"),
        (f"/api/v1/trace/{A}?depth=0", 400, "between 1 and 64"),
        (f"/api/v1/trace/{A}?direction=up", 400, "'up'"),
        (f"/api/v1/recall-scope/{A}?depth=99", 400, "between 1 and 64"),
        ("/api/v1/batches/0x12", 400, "'0x12'"),
        ("/api/v1/trace/https://id.gs1.org/01/09506000134352/10/NOWHERE", 404, "NOWHERE"),
        ("/api/v1/recall-scope/0x" + "ab" * 32, 404, "not recorded"),
        (f"/api/v1/batches/{PALLET}", 404, "not a batch"),
    ],
)
def test_bad_and_unknown_identifiers(served, path, status, says):
    client, auth, _, _ = served
    response = client.get(path, headers=auth)
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/batches/{D}",
        f"/api/v1/batches/{D}/readings",
        f"/api/v1/trace/{A}",
        f"/api/v1/recall-scope/{A}",
        f"/api/v1/readings/{DEVICE}/7/proof",
    ],
)
def test_every_route_needs_a_principal(served, path):
    client, _, _, _ = served
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer plt_nope"}).status_code == 401


def test_a_server_without_the_read_model_or_a_bridge_says_so(api_engine):
    tokens = TokenStore(api_engine)
    issued = tokens.issue(organization=ORG, role=Role.AUDITOR, chain_id=31337)
    app = create_app(FakeIngestor(), tokens=tokens, standing=lambda organization, role: None)
    auth = {"Authorization": f"Bearer {issued.token}"}
    with TestClient(app) as client:
        trace = client.get(f"/api/v1/trace/{A}", headers=auth)
        proof = client.get(f"/api/v1/readings/{DEVICE}/7/proof", headers=auth)
    assert trace.status_code == 404 and "read model" in trace.json()["detail"]
    assert proof.status_code == 404 and "no bridge" in proof.json()["detail"]
