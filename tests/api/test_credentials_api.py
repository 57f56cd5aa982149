"""Auditors verify credentials through the API: every check of the report, read from the
chain at request time (real anvil, real didkit)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.app import create_app
from api.auditor_sessions import AuditorSessions, auditor_role_holder
from credentials.identities import account_signer
from credentials.presentations import present
from credentials.registry import CredentialRegistryClient
from credentials.types import CredentialType
from credentials.verify import CredentialVerifier
from ledger_client.identifiers import DigitalLink
from ledger_client.roles import Role
from tests.credentials.credential_factories import CHECK_NAMES, fit_for_use
from tests.factories import ANVIL_KEYS
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

pytestmark = pytest.mark.integration

DOMAIN = "audit.provenance.example"
AUDITOR_KEY = ANVIL_KEYS[5]


@pytest.fixture
def lot_credential(consortium):
    """A FitForUse credential about a new lot, issued by the quality lab and anchored to
    follow the lot's quarantine; (credential, lot batch id)."""
    c = consortium
    c.membership().grant_role(Role.ISSUER, c.quality.address)
    governor = CredentialRegistryClient(c.sender(c.governor), c.deployment)
    governor.set_trusted(c.quality.address, CredentialType.FIT_FOR_USE.value, True)
    lot = DigitalLink.lot("09506000134352", f"API-{time.monotonic_ns() % 10**9}")
    credential, _ = fit_for_use(c, lot)
    return credential, lot.batch_id


@pytest.fixture
def auditor_client(consortium):
    """The API with auditor sessions and a verifier; an authenticated auditor's headers."""
    c = consortium
    c.membership().grant_role(Role.AUDITOR, Account.from_key(AUDITOR_KEY).address)
    sessions = AuditorSessions(domain=DOMAIN, is_auditor=auditor_role_holder(c.w3, c.deployment))
    # The test chain's clock may run ahead of the wall clock (blocks bumped a second each).
    verifier = CredentialVerifier(c.w3, c.deployment, clock=lambda: time.time() + 3600)
    client = TestClient(
        create_app(FakeIngestor(), auditor_sessions=sessions, credential_verifier=verifier)
    )
    challenge = client.post("/api/v1/auth/challenge").json()["challenge"]
    holder = account_signer(AUDITOR_KEY, chain_id=c.deployment.chain_id)
    vp = present(credentials=[], holder=holder, challenge=challenge, domain=DOMAIN)
    token = client.post("/api/v1/auth/session", json=vp).json()["token"]
    return client, {"Authorization": f"Bearer {token}"}


def test_a_chain_that_refuses_the_verifier_s_reads_is_502_not_503(lot_credential, consortium):
    """A verifier whose deployment record names another contract as the CredentialRegistry:
    the chain reverts its reads, which is no outage to retry."""
    c = consortium
    c.membership().grant_role(Role.AUDITOR, Account.from_key(AUDITOR_KEY).address)
    membership = c.deployment.address("Membership")
    wrong = replace(
        c.deployment, addresses={**c.deployment.addresses, "CredentialRegistry": membership}
    )
    sessions = AuditorSessions(domain=DOMAIN, is_auditor=auditor_role_holder(c.w3, c.deployment))
    verifier = CredentialVerifier(c.w3, wrong, clock=lambda: time.time() + 3600)
    client = TestClient(
        create_app(FakeIngestor(), auditor_sessions=sessions, credential_verifier=verifier)
    )
    challenge = client.post("/api/v1/auth/challenge").json()["challenge"]
    holder = account_signer(AUDITOR_KEY, chain_id=c.deployment.chain_id)
    vp = present(credentials=[], holder=holder, challenge=challenge, domain=DOMAIN)
    token = client.post("/api/v1/auth/session", json=vp).json()["token"]

    credential, _ = lot_credential
    answer = client.post(
        "/api/v1/credentials/verify",
        json=[credential],
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 502, answer.text
    assert answer.json()["detail"].startswith("the chain refused a read this request needs")


def failed_checks(report: dict) -> list[str]:
    return [check["name"] for check in report["checks"] if check["outcome"] != "passed"]


def test_an_auditor_verifies_a_credential_and_sees_a_quarantine_at_once(
    consortium, lot_credential, auditor_client
):
    credential, lot = lot_credential
    client, auth = auditor_client

    (report,) = client.post("/api/v1/credentials/verify", json=[credential], headers=auth).json()
    assert (report["valid"], failed_checks(report)) == (True, [])
    assert [check["name"] for check in report["checks"]] == CHECK_NAMES

    consortium.writer(consortium.quality).quarantine(lot, "inspection pending")
    (report,) = client.post("/api/v1/credentials/verify", json=[credential], headers=auth).json()
    assert (report["valid"], failed_checks(report)) == (False, ["not_suspended"])


def test_a_tampered_credential_fails_its_proof(lot_credential, auditor_client):
    credential, _ = lot_credential
    client, auth = auditor_client
    tampered = credential | {"issuanceDate": "2020-01-01T00:00:00Z"}
    reports = client.post(
        "/api/v1/credentials/verify", json=[credential, tampered], headers=auth
    ).json()
    assert [r["valid"] for r in reports] == [True, False]
    assert "proof" in failed_checks(reports[1])


def test_verifying_needs_an_auditor_session(lot_credential, auditor_client):
    credential, _ = lot_credential
    client, _ = auditor_client
    refused = client.post("/api/v1/credentials/verify", json=[credential])
    assert refused.status_code == 401
