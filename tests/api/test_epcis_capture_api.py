"""EPCIS capture and query over HTTP on a real anvil: every official GS1 example captured
through `POST /api/v1/capture` comes back from `GET /api/v1/events` as sent (plus any
assigned eventID), in a schema-valid EPCISQueryDocument, and its proof verifies against
the chain; refusals change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, text
from web3 import Web3

from api.capture import CaptureLimits
from api.store.tokens import TokenStore
from ledger_client.db import make_engine
from ledger_client.epcis.canonical import canonicalize
from ledger_client.epcis.document import events_of
from ledger_client.epcis.validation import Validator
from ledger_client.epcis_query.archive import EventArchive
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.read_model import create_read_model
from ledger_client.ledger import LedgerWriter
from ledger_client.lifecycle import BatchStatus
from ledger_client.local_chain import free_port
from ledger_client.roles import Role
from tests.api.api_factories import ApiDatabases, Members
from tests.api.capture_factories import OFFICIAL_SCHEMA, CaptureNode, capture_node
from tests.ledger_client.epcis.official_epcis_examples import EXAMPLES_DIR, example_id

pytestmark = pytest.mark.integration

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
GTIN = "09506000134352"
DOCUMENTS = [
    p
    for p in sorted(EXAMPLES_DIR.rglob("*.jsonld"))
    if json.loads(p.read_text()).get("type") == "EPCISDocument"
]


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(official_schema_dir=OFFICIAL_SCHEMA)


@pytest.fixture
def read_model(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
    create_read_model(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_api_engine(tmp_path: Path) -> Iterator[Engine]:
    databases = ApiDatabases("sqlite", tmp_path, None)
    yield databases.engine()
    databases.close()


@pytest.fixture
def node(members: Members, sqlite_api_engine, read_model, validator) -> CaptureNode:
    return capture_node(
        members, api_engine=sqlite_api_engine, read_model=read_model, validator=validator
    )


def _document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": [CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-01T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def _event(*uris: str, biz_step: str = "receiving", second: int = 0) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": f"2026-01-01T00:00:{second:02d}Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": biz_step,
        "quantityList": [{"epcClass": uri, "quantity": 1} for uri in uris],
    }


def test_the_official_examples_are_there():
    assert len(DOCUMENTS) >= 30, f"expected the GS1 examples under {EXAMPLES_DIR}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=example_id)
def test_an_official_example_captured_comes_back_as_sent_and_proves(path, node, validator):
    sent = json.loads(path.read_text())
    job = node.capture(sent)
    assert (job["state"], job["running"], job["success"]) == ("SUCCESS", False, True), job["errors"]

    answer = node.client.get(
        "/api/v1/events", params={"perPage": "1000"}, headers=node.headers("auditor")
    )
    assert answer.status_code == 200
    document = answer.json()
    validator.validate_query_document(document)
    received = document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    expected = events_of(sent)
    assert len(received) == len(expected)
    for event, original in zip(received, expected, strict=True):
        event.setdefault("@context", document["@context"])
        assigned = {} if "eventID" in original else {"eventID": event["eventID"]}
        assert event["eventID"].startswith("ni:///sha-256;") or not assigned
        assert canonicalize(event) == canonicalize({**original, **assigned})

        event_path = quote(event["eventID"], safe="")
        one = node.client.get(f"/api/v1/events/{event_path}", headers=node.headers("quality"))
        assert canonicalize(one.json()) == canonicalize(event)
        proof = node.client.get(
            f"/api/v1/events/{event_path}/proof", headers=node.headers("auditor")
        ).json()
        assert proof["verified"] is True, proof
        assert proof["sqlPayloadHash"] == proof["chainPayloadHash"]


def test_a_payload_changed_in_the_read_model_does_not_prove(node):
    lot = DigitalLink.lot(GTIN, "TAMPER")
    node.capture(_document({**_event(lot.uri), "eventID": "urn:uuid:tamper-1"}))
    with node.read_model.begin() as connection:
        changed = connection.execute(
            text("UPDATE ledger_event SET payload = replace(payload, 'receiving', 'shipping')")
        )
        assert changed.rowcount == 1
    proof = node.client.get(
        f"/api/v1/events/{quote('urn:uuid:tamper-1', safe='')}/proof",
        headers=node.headers("auditor"),
    ).json()
    assert proof["verified"] is False
    assert proof["problem"] == "the payload in the read model is not the one anchored"
    assert proof["chainPayloadHash"] != proof["sqlPayloadHash"]
    assert proof["transactionHash"].startswith("0x") and proof["blockNumber"] > 0


@pytest.fixture
def pg_or_sqlite_node(members: Members, api_engine, read_model, validator) -> CaptureNode:
    return capture_node(members, api_engine=api_engine, read_model=read_model, validator=validator)


def _lot_state(members: Members, lot: DigitalLink) -> BatchStatus:
    return members.consortium.writer().batch(lot.batch_id).status


def test_capture_is_refused_to_an_auditor_and_without_a_token_and_changes_nothing(
    pg_or_sqlite_node,
):
    node = pg_or_sqlite_node
    lot = DigitalLink.lot(GTIN, "NOBODY")
    document = _document(_event(lot.uri))
    auditor = node.client.post("/api/v1/capture", json=document, headers=node.headers("auditor"))
    assert auditor.status_code == 403
    assert "needs the OPERATOR role" in auditor.json()["detail"]
    anonymous = node.client.post("/api/v1/capture", json=document)
    assert anonymous.status_code == 401
    assert _lot_state(node.members, lot) is BatchStatus.NONE
    node.indexer.run_once()
    assert node.events() == []


def test_an_event_naming_a_quarantined_lot_among_others_is_refused_whole(pg_or_sqlite_node):
    node = pg_or_sqlite_node
    c = node.members.consortium
    held, free = DigitalLink.lot(GTIN, "HELD"), DigitalLink.lot(GTIN, "FREE")
    c.writer().create_batch(held.uri)
    LedgerWriter(c.sender(c.quality), c.deployment).quarantine(held.batch_id, "excursion")
    document = _document(_event(free.uri, second=1), _event(free.uri, held.uri, second=2))
    job = node.capture(document)
    assert (job["state"], job["running"], job["success"]) == ("FAILED", False, False)
    [error] = job["errors"]
    assert held.uri in error and "QUARANTINED" in error
    assert _lot_state(node.members, free) is BatchStatus.NONE, "nothing was created"
    assert node.events() == []


def test_an_event_of_a_lot_the_organization_may_not_write_names_the_lot_and_the_right(node):
    c = node.members.consortium
    # Another member (the quality lab, made an operator) owns a prefix and creates a lot.
    c.membership().grant_role(Role.OPERATOR, c.quality.address)
    c.writer(c.governor).assign_prefix("0614141", c.quality.address)
    theirs = DigitalLink.lot("00614141107346", "THEIRS")
    c.writer(c.quality).create_batch(theirs.uri)
    mine = DigitalLink.lot(GTIN, "MINE")
    job = node.capture(_document(_event(mine.uri, second=1), _event(theirs.uri, second=2)))
    assert job["state"] == "FAILED"
    [error] = job["errors"]
    assert theirs.uri in error and "ProvenanceLedgerNotBatchWriter" in error
    assert _lot_state(node.members, mine) is BatchStatus.NONE
    # A new lot of that prefix is not the node's to create, dev option or not.
    other = DigitalLink.lot("00614141107346", "NEW")
    job = node.capture(_document(_event(other.uri)))
    assert job["state"] == "FAILED"
    assert other.uri in job["errors"][0] and c.quality.address in job["errors"][0]
    assert "ProvenanceLedgerNotPrefixHolder" in job["errors"][0]


def test_without_the_dev_option_an_unowned_prefix_is_refused(node):
    foreign = DigitalLink.lot("00614141107346", "X1")
    node_without_dev = capture_node(
        node.members,
        api_engine=node.jobs.engine,
        read_model=node.read_model,
        validator=Validator(official_schema_dir=OFFICIAL_SCHEMA),
        dev_prefixes=False,
    )
    job = node_without_dev.capture(_document(_event(foreign.uri)))
    assert job["state"] == "FAILED"
    assert foreign.uri in job["errors"][0] and "is assigned to no member" in job["errors"][0]
    assert _lot_state(node.members, foreign) is BatchStatus.NONE


def test_the_dev_option_assigns_an_unowned_prefix_to_the_capturing_organization(node):
    c = node.members.consortium
    lot = DigitalLink.lot("00614141107346", "DEV1")
    job = node.capture(_document(_event(lot.uri)))
    assert job["state"] == "SUCCESS", job
    assert c.writer().prefix_owner("061414110734") == c.operator.address
    assert c.writer().custody(lot.batch_id).owner == c.operator.address


def test_a_malformed_document_is_refused_naming_the_json_path(node):
    document = _document(_event(DigitalLink.lot(GTIN, "BAD").uri))
    del document["epcisBody"]["eventList"][0]["eventTime"]
    answer = node.client.post("/api/v1/capture", json=document, headers=node.headers("operator"))
    assert answer.status_code == 400
    problem = answer.json()
    assert problem["type"] == "epcisException:ValidationException"
    assert {"path": "$.epcisBody.eventList[0].eventTime", "message": "is required but missing"} in (
        problem["errors"]
    )
    assert node.jobs.engine is not None
    not_json = node.client.post(
        "/api/v1/capture",
        content=b"{not json",
        headers={**node.headers("operator"), "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    deep = node.client.post(
        "/api/v1/capture",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={**node.headers("operator"), "Content-Type": "application/json"},
    )
    assert deep.status_code == 400
    assert "deeper than 64 levels" in deep.json()["detail"]
    twice = node.client.post(
        "/api/v1/capture",
        content=b'{"type": "EPCISDocument", "type": "EPCISDocument"}',
        headers={**node.headers("operator"), "Content-Type": "application/json"},
    )
    assert twice.status_code == 400
    assert "appears twice" in twice.json()["detail"]
    wrong_type = node.client.post(
        "/api/v1/capture",
        content=b"<xml/>",
        headers={**node.headers("operator"), "Content-Type": "application/xml"},
    )
    assert wrong_type.status_code == 415


def test_captures_over_the_byte_or_event_limit_are_refused_with_413(
    members, sqlite_api_engine, read_model, validator
):
    node = capture_node(
        members,
        api_engine=sqlite_api_engine,
        read_model=read_model,
        validator=validator,
        limits=CaptureLimits(body_bytes=2_000, events=2),
    )
    lot = DigitalLink.lot(GTIN, "MANY")
    three = _document(*(_event(lot.uri, second=s) for s in range(3)))
    answer = node.client.post("/api/v1/capture", json=three, headers=node.headers("operator"))
    assert answer.status_code == 413
    assert "at most 2" in answer.json()["detail"]
    big = _document(_event(lot.uri), {**_event(lot.uri, second=1), "example:x": "y" * 3_000})
    answer = node.client.post("/api/v1/capture", json=big, headers=node.headers("operator"))
    assert answer.status_code == 413
    assert _lot_state(members, lot) is BatchStatus.NONE


def test_server_owned_fields_are_not_taken_from_the_capture_request(node):
    lot = DigitalLink.lot(GTIN, "OWNED")
    answer = node.client.post(
        "/api/v1/capture?state=SUCCESS&captureID=mine",
        json=_document(_event(lot.uri)),
        headers=node.headers("operator"),
    )
    assert answer.status_code == 202
    assert not answer.headers["Location"].endswith("/mine")


def test_paging_returns_every_event_exactly_once(node):
    lots = [DigitalLink.lot(GTIN, f"PAGE{i}") for i in range(3)]
    events = [
        {**_event(lots[i % 3].uri, second=i), "eventID": f"urn:uuid:page-{i}"} for i in range(8)
    ]
    assert node.capture(_document(*events))["state"] == "SUCCESS"
    for params in ({"perPage": "3"}, {"perPage": "2", "orderBy": "eventTime"}):
        ids = [e["eventID"] for e in node.events(**params)]
        assert sorted(ids) == sorted(e["eventID"] for e in events), params
    first_page = node.client.get(
        "/api/v1/events", params={"perPage": "3"}, headers=node.headers("auditor")
    )
    assert first_page.headers["link"].endswith('; rel="next"')
    assert "nextPageToken=" in first_page.headers["link"]


def test_query_errors_are_the_standard_s_exceptions(node):
    lot = DigitalLink.lot(GTIN, "QUERY")
    node.capture(_document(*(_event(lot.uri, second=s) for s in range(3))))
    unknown = node.client.get(
        "/api/v1/events", params={"EQ_nonsense": "1"}, headers=node.headers("auditor")
    )
    assert unknown.status_code == 400
    assert unknown.json()["type"] == "epcisException:QueryParameterException"
    assert "'EQ_nonsense'" in unknown.json()["detail"]
    too_many = node.client.get(
        "/api/v1/events", params={"maxEventCount": "2"}, headers=node.headers("auditor")
    )
    assert too_many.status_code == 413
    assert too_many.json()["type"] == "epcisException:QueryTooLargeException"
    selected = node.events(EQ_bizStep="receiving", MATCH_epcClass=lot.uri)
    assert len(selected) == 3
    assert node.client.get("/api/v1/events").status_code == 401
    missing = node.client.get("/api/v1/events/urn%3Auuid%3Anone", headers=node.headers("auditor"))
    assert missing.status_code == 404


def test_an_operator_of_another_organization_neither_captures_here_nor_sees_the_jobs(node):
    c = node.members.consortium
    c.membership().grant_role(Role.OPERATOR, c.quality.address)
    foreign = TokenStore(node.jobs.engine).issue(
        organization=node.members.did(c.quality), role=Role.OPERATOR, chain_id=c.w3.eth.chain_id
    )
    headers = {"Authorization": f"Bearer {foreign.token}"}
    lot = DigitalLink.lot(GTIN, "FOREIGN")
    refused = node.client.post("/api/v1/capture", json=_document(_event(lot.uri)), headers=headers)
    assert refused.status_code == 403
    assert f"this node writes as {c.operator.address}" in refused.json()["detail"]
    assert _lot_state(node.members, lot) is BatchStatus.NONE

    answer = node.client.post(
        "/api/v1/capture", json=_document(_event(lot.uri)), headers=node.headers("operator")
    )
    job_url = answer.headers["Location"]
    assert node.client.get(job_url, headers=headers).status_code == 404
    assert node.client.get(job_url, headers=node.headers("auditor")).status_code == 403
    assert node.client.get(job_url, headers=node.headers("operator")).json()["state"] == "SUCCESS"


def test_an_event_is_filed_under_every_lot_and_item_it_names_and_listed_once(node):
    c = node.members.consortium
    lot = DigitalLink.lot(GTIN, "BOTH")
    item = DigitalLink.item(GTIN, "BOTH-1")
    event = {
        **_event("urn:epc:class:lgtin:9506000.013435.BOTH", second=5),
        "eventID": "urn:uuid:both",
        "epcList": [item.uri, "urn:epc:id:sgtin:9506000.013435.BOTH-1"],
    }
    assert node.capture(_document(event))["state"] == "SUCCESS"
    for batch in (lot, item):
        assert c.writer().batch(batch.batch_id).event_count == 1, batch.uri
    assert [e["eventID"] for e in node.events()] == ["urn:uuid:both"]
    assert [e["eventID"] for e in node.events(MATCH_epc=item.uri)] == ["urn:uuid:both"]
    proof = node.client.get(
        "/api/v1/events/urn%3Auuid%3Aboth/proof", headers=node.headers("auditor")
    ).json()
    assert proof["verified"] is True


def test_parties_that_map_to_no_member_move_no_custody(node):
    c = node.members.consortium
    lot = DigitalLink.lot(GTIN, "SHIPPED")
    event = {
        **_event(lot.uri, biz_step="shipping"),
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:9506000.00001"}],
        "destinationList": [
            {"type": "owning_party", "destination": "urn:epc:id:pgln:4012345.00001"}
        ],
    }
    assert node.capture(_document(event))["state"] == "SUCCESS"
    custody = c.writer().custody(lot.batch_id)
    assert (custody.owner, custody.custodian, custody.offered_to) == (
        c.operator.address,
        c.operator.address,
        None,
    )


def test_a_destruction_naming_no_lot_is_refused_and_unknown_jobs_and_tokens_are_404_and_400(
    node,
):
    lot = DigitalLink.lot(GTIN, "KEPT")
    destroying = {
        **_event(lot.uri, biz_step="destroying", second=2),
        "quantityList": [],
        "epcList": ["urn:epc:id:sscc:9506000.0000000001"],  # a pallet: no lot or item
    }
    job = node.capture(_document(_event(lot.uri, second=1), destroying))
    assert job["state"] == "FAILED"
    assert (
        "event 1" in job["errors"][0] and "ProvenanceLedgerUnfiledDestruction" in job["errors"][0]
    )
    assert _lot_state(node.members, lot) is BatchStatus.NONE
    unknown = node.client.get("/api/v1/capture/nosuchjob", headers=node.headers("operator"))
    assert unknown.status_code == 404
    forged = node.client.get(
        "/api/v1/events", params={"nextPageToken": "abc"}, headers=node.headers("auditor")
    )
    assert forged.status_code == 400
    assert "'nextPageToken'" in forged.json()["detail"]


def test_a_refusal_found_late_assigns_no_prefix_before_it(node):
    c = node.members.consortium
    c.membership().grant_role(Role.OPERATOR, c.quality.address)
    c.writer(c.governor).assign_prefix("0614141", c.quality.address)
    unowned = DigitalLink.lot("04012345000016", "FIRST")
    theirs = DigitalLink.lot("00614141107346", "SECOND")
    job = node.capture(_document(_event(unowned.uri, second=1), _event(theirs.uri, second=2)))
    assert job["state"] == "FAILED" and theirs.uri in job["errors"][0]
    assert c.writer().prefix_owner("401234500001") is None
    assert _lot_state(node.members, unowned) is BatchStatus.NONE


def test_a_proof_while_the_chain_does_not_answer_is_503(node, members, read_model):
    lot = DigitalLink.lot(GTIN, "OFFLINE")
    node.capture(_document({**_event(lot.uri), "eventID": "urn:uuid:offline"}))
    c = members.consortium
    silent = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{free_port()}"))
    node.client.app.state.event_archive = EventArchive(read_model, silent, c.deployment)
    answer = node.client.get(
        "/api/v1/events/urn%3Auuid%3Aoffline/proof", headers=node.headers("auditor")
    )
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    listed = node.client.get("/api/v1/events", headers=node.headers("auditor"))
    assert listed.status_code == 200, "the query needs the read model only"
