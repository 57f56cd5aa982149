"""`GET /api/v1/credentials?subject=DID`: the stored credentials about a subject with the
status the verifier reads from the chain now (real anvil, real didkit)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.principals import chain_standing
from api.store.tokens import TokenStore
from credentials.identities import mint_asset_did
from credentials.issue import credential_hash
from credentials.registry import CredentialRegistryClient
from credentials.store import CredentialStore, create_credential_tables
from credentials.types import CredentialType
from credentials.verify import CredentialVerifier
from ledger_client.db import make_engine
from ledger_client.identifiers import DigitalLink
from ledger_client.roles import Role
from tests.credentials.credential_factories import fit_for_use
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

pytestmark = pytest.mark.integration


@pytest.fixture
def served(members, api_engine, tmp_path):
    c = members.consortium
    c.membership().grant_role(Role.ISSUER, c.quality.address)
    CredentialRegistryClient(c.sender(c.governor), c.deployment).set_trusted(
        c.quality.address, CredentialType.FIT_FOR_USE.value, True
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'credentials.db'}")
    create_credential_tables(engine)
    store = CredentialStore(engine)
    tokens = TokenStore(api_engine)
    app = create_app(
        FakeIngestor(),
        tokens=tokens,
        standing=chain_standing(c.w3, c.deployment),
        # The test chain's clock may run ahead of the wall clock (blocks bumped a second each).
        credential_verifier=CredentialVerifier(
            c.w3, c.deployment, clock=lambda: time.time() + 3600
        ),
        credential_store=store,
    )
    token = tokens.issue(
        organization=members.did(c.operator), role=Role.OPERATOR, chain_id=c.deployment.chain_id
    ).token
    yield TestClient(app), {"Authorization": f"Bearer {token}"}, store
    engine.dispose()


def test_a_subject_s_credentials_carry_their_live_status(served, members):
    client, headers, store = served
    c = members.consortium
    lot = DigitalLink.lot("09506000134352", "SUBJ-1")
    credential, subject = fit_for_use(c, lot)
    other, _ = fit_for_use(c, DigitalLink.lot("09506000134352", "SUBJ-2"))
    store.add(credential)
    store.add(other)

    def listed() -> list[dict]:
        response = client.get("/api/v1/credentials", params={"subject": subject}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    (entry,) = listed()
    assert entry["credential_hash"] == "0x" + credential_hash(credential).hex()
    assert (entry["type"], entry["status"], entry["report"]["valid"]) == (
        "FitForUse",
        "VALID",
        True,
    )
    assert entry["issuer"] == credential["issuer"] and entry["credential"] == credential

    quality = c.writer(c.quality)
    quality.quarantine(lot.batch_id, "deviation under investigation")
    assert listed()[0]["status"] == "SUSPENDED"
    quality.release(lot.batch_id, "deviation closed")
    assert listed()[0]["status"] == "VALID"
    CredentialRegistryClient(c.sender(c.quality), c.deployment).revoke(
        credential_hash(credential), "issued in error"
    )
    (revoked,) = listed()
    assert (revoked["status"], revoked["report"]["valid"]) == ("REVOKED", False)


def test_an_unknown_subject_has_none(served):
    client, headers, _ = served
    subject = mint_asset_did().did
    response = client.get("/api/v1/credentials", params={"subject": subject}, headers=headers)
    assert response.status_code == 200 and response.json() == []


@pytest.mark.parametrize(
    ("params", "authorized", "status"),
    [
        ({"subject": "did:key:z6MkNope"}, False, 401),
        ({"subject": "not a did"}, True, 422),
        ({}, True, 422),
    ],
    ids=["no token", "not a DID", "no subject"],
)
def test_bad_requests_are_refused(served, params, authorized, status):
    client, headers, _ = served
    response = client.get(
        "/api/v1/credentials", params=params, headers=headers if authorized else {}
    )
    assert response.status_code == status, response.text
