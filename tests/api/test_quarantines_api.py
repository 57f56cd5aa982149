"""Quarantines over HTTP against a real anvil: listing for any user, acknowledging and
releasing for this node's quality users only; every refusal answered with its status and
the contract's decoded error, and nothing changed on chain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.principals import chain_standing
from api.quality import QualityDesk
from api.store.tokens import TokenStore
from ledger_client.db import make_engine
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.quarantines import ReadModelQuarantines
from ledger_client.indexer.read_model import create_read_model
from ledger_client.ledger import BatchStatus
from ledger_client.lifecycle import ExcursionHold
from ledger_client.roles import Role
from tests.api.api_factories import Members
from tests.factories import quarantine_by_rule
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/HTTP-EXC"
OTHER = "https://id.gs1.org/01/09506000134352/10/HTTP-OTHER"
UNKNOWN = "0x" + "ab" * 32


@dataclass
class Node:
    client: TestClient
    members: Members
    tokens: TokenStore
    indexer: Indexer

    def token(self, account, role: Role) -> dict[str, str]:
        issued = self.tokens.issue(
            organization=self.members.did(account),
            role=role,
            chain_id=self.members.consortium.deployment.chain_id,
        )
        return {"Authorization": f"Bearer {issued.token}"}

    def quality(self) -> dict[str, str]:
        return self.token(self.members.consortium.quality, Role.QUALITY)

    def acknowledge(self, batch: str, comment: object, headers: dict[str, str]):
        return self.client.post(
            f"/api/v1/quarantines/{batch}/acknowledge", json={"comment": comment}, headers=headers
        )

    def release(self, batch: str, reason: object, headers: dict[str, str]):
        return self.client.post(
            f"/api/v1/batches/{batch}/release", json={"reason": reason}, headers=headers
        )


@pytest.fixture
def node(members, api_engine, tmp_path) -> Node:
    consortium = members.consortium
    read_model = make_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
    create_read_model(read_model)
    tokens = TokenStore(api_engine)
    app = create_app(
        FakeIngestor(),
        tokens=tokens,
        standing=chain_standing(consortium.w3, consortium.deployment),
        quarantine_records=ReadModelQuarantines(read_model),
        quality_desk=QualityDesk(
            writer=consortium.writer(consortium.quality),
            account=consortium.quality.address,
            chain_id=consortium.deployment.chain_id,
        ),
    )
    yield Node(
        TestClient(app), members, tokens, Indexer(consortium.w3, consortium.deployment, read_model)
    )
    read_model.dispose()


def hex_id(batch_id: bytes) -> str:
    return "0x" + batch_id.hex()


def assert_still_held(node: Node, lot: bytes) -> None:
    ledger = node.members.consortium.writer()
    assert ledger.batch(lot).status is BatchStatus.QUARANTINED
    assert ledger.excursion_hold(lot) is ExcursionHold.UNACKNOWLEDGED


def test_breach_quarantines_release_waits_for_the_acknowledgement_and_the_list_shows_it(node):
    consortium = node.members.consortium
    lot = quarantine_by_rule(consortium, LOT)
    quality = node.quality()

    refused = node.release(hex_id(lot), "lab cleared", quality)
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"]["error"] == "ProvenanceLedgerExcursionNotAcknowledged"
    assert refused.json()["detail"]["args"] == {"batchId": hex_id(lot)}
    assert_still_held(node, lot)

    acknowledged = node.acknowledge(hex_id(lot), "  logger fault, product within range ", quality)
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["batch_id"] == hex_id(lot)
    released = node.release(hex_id(lot), "lab cleared", quality)
    assert released.status_code == 200, released.text
    assert consortium.writer().batch(lot).status is BatchStatus.RELEASED

    node.indexer.run_once()
    auditor = node.token(node.members.auditor, Role.AUDITOR)
    page = node.client.get("/api/v1/quarantines", headers=auditor).json()
    (listed,) = page["quarantines"]
    assert page["next_offset"] is None
    assert (listed["batch_id"], listed["uri"], listed["state"]) == (hex_id(lot), LOT, "closed")
    assert listed["started"]["reason"] == "cold-chain: hard limit"
    assert listed["rule"] == {
        "rule_version": 1,
        "device": listed["rule"]["device"],
        "seq": 1,
        "decision": "QUARANTINE_HARD_LIMIT",
    }
    assert [(a["by"], a["comment"]) for a in listed["acknowledgements"]] == [
        (consortium.quality.address, "logger fault, product within range")
    ]
    assert listed["acknowledgements"][0]["tx_hash"] == acknowledged.json()["tx_hash"]
    assert (listed["ended"]["status"], listed["ended"]["reason"]) == ("RELEASED", "lab cleared")
    assert listed["ended"]["tx_hash"] == released.json()["tx_hash"]
    operator = node.token(consortium.operator, Role.OPERATOR)
    opened = node.client.get("/api/v1/quarantines?state=open", headers=operator)
    assert opened.status_code == 200 and opened.json()["quarantines"] == []


def _no_token(node: Node) -> dict[str, str]:
    return {}


def _bad_token(node: Node) -> dict[str, str]:
    return {"Authorization": "Bearer pl_nonsense"}


def _auditor(node: Node) -> dict[str, str]:
    return node.token(node.members.auditor, Role.AUDITOR)


def _operator(node: Node) -> dict[str, str]:
    return node.token(node.members.consortium.operator, Role.OPERATOR)


def _quality_of_another_organization(node: Node) -> dict[str, str]:
    consortium = node.members.consortium
    consortium.membership().grant_role(Role.QUALITY, consortium.operator.address)
    return node.token(consortium.operator, Role.QUALITY)


CALLERS: list[tuple[str, Callable[[Node], dict[str, str]], int, str]] = [
    ("no token", _no_token, 401, "no bearer token"),
    ("unknown token", _bad_token, 401, "unknown bearer token"),
    ("auditor", _auditor, 403, "needs the QUALITY role"),
    ("operator", _operator, 403, "needs the QUALITY role"),
    ("quality of another organization", _quality_of_another_organization, 403, "not this node"),
]


@pytest.mark.parametrize("route", ["acknowledge", "release"])
@pytest.mark.parametrize(
    ("case", "headers", "status", "detail"), CALLERS, ids=[c[0] for c in CALLERS]
)
def test_only_this_nodes_quality_writes(node, route, case, headers, status, detail):
    lot = quarantine_by_rule(node.members.consortium, LOT)
    call = node.acknowledge if route == "acknowledge" else node.release
    response = call(hex_id(lot), "seen", headers(node))
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]
    assert_still_held(node, lot)


def test_listing_needs_a_user(node):
    assert node.client.get("/api/v1/quarantines").status_code == 401
    bad = node.client.get("/api/v1/quarantines?state=lost", headers=_auditor(node))
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("route", "batch", "text", "status", "error"),
    [
        ("acknowledge", "rule", "", 422, None),
        ("acknowledge", "rule", "   ", 422, None),
        ("acknowledge", "rule", None, 422, None),
        ("release", "rule", "", 422, None),
        ("release", "rule", "x" * 2_001, 422, None),
        ("acknowledge", "0x12", "seen", 400, None),
        ("release", "not-an-id", "seen", 400, None),
        ("acknowledge", UNKNOWN, "seen", 404, "ProvenanceLedgerUnknownBatch"),
        ("release", UNKNOWN, "seen", 404, "ProvenanceLedgerUnknownBatch"),
        ("acknowledge", "person", "seen", 409, "ProvenanceLedgerNoExcursion"),
        ("release", "active", "seen", 409, "ProvenanceLedgerInvalidTransition"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(node, route, batch, text, status, error):
    consortium = node.members.consortium
    lot = quarantine_by_rule(consortium, LOT)
    other = consortium.writer().create_batch(OTHER)
    if batch == "person":
        consortium.writer(consortium.quality).quarantine(other, "carton crushed")
    target = {"rule": hex_id(lot), "person": hex_id(other), "active": hex_id(other)}.get(
        batch, batch
    )
    other_status = consortium.writer().batch(other).status
    call = node.acknowledge if route == "acknowledge" else node.release
    response = call(target, text, node.quality())
    assert response.status_code == status, response.text
    if error is not None:
        assert response.json()["detail"]["error"] == error
    assert_still_held(node, lot)
    assert consortium.writer().batch(other).status is other_status


def test_a_server_without_a_quality_desk_writes_nothing(members, api_engine):
    consortium = members.consortium
    tokens = TokenStore(api_engine)
    app = create_app(
        FakeIngestor(), tokens=tokens, standing=chain_standing(consortium.w3, consortium.deployment)
    )
    lot = quarantine_by_rule(consortium, LOT)
    token = tokens.issue(
        organization=members.did(consortium.quality),
        role=Role.QUALITY,
        chain_id=consortium.deployment.chain_id,
    ).token
    response = TestClient(app).post(
        f"/api/v1/batches/{hex_id(lot)}/release",
        json={"reason": "cleared"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404
    assert consortium.writer().batch(lot).status is BatchStatus.QUARANTINED


def test_on_the_dev_chain_each_dev_organizations_quality_writes_as_itself(members, api_engine):
    """The embedded dev chain's desk holds the other development organizations' writers: a
    QUALITY token of one of them is written with its own key; any other organization's is
    refused as before."""
    consortium = members.consortium
    tokens = TokenStore(api_engine)
    app = create_app(
        FakeIngestor(),
        tokens=tokens,
        standing=chain_standing(consortium.w3, consortium.deployment),
        quality_desk=QualityDesk(
            writer=consortium.writer(consortium.outsider),
            account=consortium.outsider.address,
            chain_id=consortium.deployment.chain_id,
            dev_writers={consortium.quality.address: consortium.writer(consortium.quality)},
        ),
    )
    client = TestClient(app)
    lot = quarantine_by_rule(consortium, LOT)

    def acknowledge(account) -> object:
        token = tokens.issue(
            organization=members.did(account),
            role=Role.QUALITY,
            chain_id=consortium.deployment.chain_id,
        ).token
        return client.post(
            f"/api/v1/quarantines/{hex_id(lot)}/acknowledge",
            json={"comment": "seen on the dev chain"},
            headers={"Authorization": f"Bearer {token}"},
        )

    consortium.membership().grant_role(Role.QUALITY, consortium.operator.address)
    refused = acknowledge(consortium.operator)
    assert refused.status_code == 403 and "not this node" in refused.json()["detail"]
    assert consortium.writer().excursion_hold(lot) is ExcursionHold.UNACKNOWLEDGED

    written = acknowledge(consortium.quality)
    assert written.status_code == 200, written.text
    receipt = consortium.w3.eth.get_transaction_receipt(written.json()["tx_hash"])
    assert receipt["from"] == consortium.quality.address
    assert consortium.writer().excursion_hold(lot) is ExcursionHold.ACKNOWLEDGED
