"""Auditors authenticate by DID-auth: a bare presentation over a one-use challenge and this
API's domain, from a did:pkh whose account is authorized as AUDITOR on chain (holds the role,
its organization active), asked again during the session (real anvil, real didkit)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.app import create_app
from api.auditor_sessions import MAX_PRESENTATION_BYTES, AuditorSessions, auditor_role_holder
from credentials.identities import account_signer
from credentials.presentations import present, verify_presentation
from credentials.types import CredentialType
from ledger_client.errors import ChainRejected
from ledger_client.roles import Role
from tests.credentials.credential_factories import issue_sample
from tests.factories import ANVIL_KEYS
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

pytestmark = pytest.mark.integration

DOMAIN = "audit.provenance.example"
AUDITOR_KEY, OUTSIDER_KEY = ANVIL_KEYS[5], ANVIL_KEYS[3]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


class RecordingVerify:
    """The real verifier, recording the presentations it was asked to check."""

    def __init__(self) -> None:
        self.calls: list[object] = []

    def __call__(self, presentation, **expected):
        self.calls.append(presentation)
        return verify_presentation(presentation, **expected)


@pytest.fixture
def verify() -> RecordingVerify:
    return RecordingVerify()


@pytest.fixture
def client(consortium, clock, verify) -> TestClient:
    consortium.membership().grant_role(Role.AUDITOR, Account.from_key(AUDITOR_KEY).address)
    sessions = AuditorSessions(
        domain=DOMAIN,
        is_auditor=auditor_role_holder(consortium.w3, consortium.deployment),
        verify=verify,
        clock=clock,
    )
    return TestClient(create_app(FakeIngestor(), auditor_sessions=sessions))


def signer_of(key: str, consortium):
    return account_signer(key, chain_id=consortium.deployment.chain_id)


def presentation(
    client: TestClient, signer, *, domain: str = DOMAIN, challenge=None, credentials=()
) -> dict:
    issued = client.post("/api/v1/auth/challenge").json()
    assert issued["domain"] == DOMAIN
    return present(
        credentials=list(credentials),
        holder=signer,
        challenge=challenge or issued["challenge"],
        domain=domain,
    )


def test_an_auditor_opens_a_session_and_is_known_by_its_did(client, consortium):
    auditor = signer_of(AUDITOR_KEY, consortium)
    opened = client.post("/api/v1/auth/session", json=presentation(client, auditor))
    assert opened.status_code == 200, opened.text
    assert opened.json()["auditor"] == auditor.did
    token = opened.json()["token"]
    me = client.get("/api/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"})
    assert (me.status_code, me.json()) == (200, {"auditor": auditor.did})


def test_a_replayed_presentation_is_refused(client, consortium):
    vp = presentation(client, signer_of(AUDITOR_KEY, consortium))
    assert client.post("/api/v1/auth/session", json=vp).status_code == 200
    replay = client.post("/api/v1/auth/session", json=vp)
    assert replay.status_code == 401
    assert "outstanding challenge" in replay.json()["detail"]


def test_a_presentation_for_another_domain_is_refused(client, consortium):
    vp = presentation(client, signer_of(AUDITOR_KEY, consortium), domain="evil.example")
    refused = client.post("/api/v1/auth/session", json=vp)
    assert refused.status_code == 401
    assert "another verifier" in refused.json()["detail"]


def test_a_presentation_over_a_challenge_never_issued_is_refused(client, consortium):
    vp = presentation(client, signer_of(AUDITOR_KEY, consortium), challenge="made-up")
    refused = client.post("/api/v1/auth/session", json=vp)
    assert refused.status_code == 401
    assert "outstanding challenge" in refused.json()["detail"]


def test_a_tampered_presentation_is_refused_and_burns_its_challenge(client, consortium):
    vp = presentation(client, signer_of(AUDITOR_KEY, consortium))
    tampered = vp | {"id": "urn:uuid:00000000-0000-4000-8000-000000000000"}
    refused = client.post("/api/v1/auth/session", json=tampered)
    assert refused.status_code == 401
    assert "presentation rejected" in refused.json()["detail"]
    assert client.post("/api/v1/auth/session", json=vp).status_code == 401


def test_an_expired_challenge_is_refused(client, consortium, clock):
    vp = presentation(client, signer_of(AUDITOR_KEY, consortium))
    clock.now += 301
    assert client.post("/api/v1/auth/session", json=vp).status_code == 401


def test_a_holder_without_the_auditor_role_is_forbidden_before_its_proof_is_checked(
    client, consortium, verify
):
    vp = presentation(client, signer_of(OUTSIDER_KEY, consortium))
    refused = client.post("/api/v1/auth/session", json=vp)
    assert refused.status_code == 403
    assert "not authorized as AUDITOR" in refused.json()["detail"]
    assert verify.calls == []


def test_an_auditor_of_a_deactivated_organization_is_forbidden(client, consortium):
    auditor = Account.from_key(AUDITOR_KEY).address
    membership = consortium.membership()
    membership.register_organization(
        auditor, did=f"did:web:{auditor.lower()}.example", name="Audit"
    )
    membership.set_organization_active(auditor, False)
    assert membership.has_role(Role.AUDITOR, auditor)  # the role stays on record
    refused = client.post(
        "/api/v1/auth/session", json=presentation(client, signer_of(AUDITOR_KEY, consortium))
    )
    assert refused.status_code == 403
    assert "not authorized as AUDITOR" in refused.json()["detail"]


@pytest.mark.parametrize("withdraw", ["revoke the role", "deactivate the organization"])
def test_an_auditor_withdrawn_mid_session_is_signed_out_within_the_cache_window(
    client, consortium, clock, withdraw
):
    auditor = Account.from_key(AUDITOR_KEY).address
    membership = consortium.membership()
    if withdraw == "deactivate the organization":
        membership.register_organization(auditor, did=f"did:web:{auditor.lower()}.ex", name="A")
    vp = presentation(client, signer_of(AUDITOR_KEY, consortium))
    bearer = {
        "Authorization": f"Bearer {client.post('/api/v1/auth/session', json=vp).json()['token']}"
    }
    if withdraw == "revoke the role":
        membership.revoke_role(Role.AUDITOR, auditor)
    else:
        membership.set_organization_active(auditor, False)
    clock.now += 1
    assert client.get("/api/v1/auth/whoami", headers=bearer).status_code == 200
    clock.now += 1
    refused = client.get("/api/v1/auth/whoami", headers=bearer)
    assert refused.status_code == 401
    assert "no longer authorized as AUDITOR" in refused.json()["detail"]


def test_a_signed_presentation_carrying_a_credential_is_refused(client, consortium, verify):
    credential = issue_sample(CredentialType.OPERATOR_QUALIFICATION)
    vp = presentation(client, signer_of(AUDITOR_KEY, consortium), credentials=[credential])
    assert len(json.dumps(vp)) < MAX_PRESENTATION_BYTES  # refused for what it carries
    refused = client.post("/api/v1/auth/session", json=vp)
    assert refused.status_code == 400
    assert "bare DID-auth presentation" in refused.json()["detail"]
    assert verify.calls == []


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
def test_protected_routes_need_a_live_session(client, header):
    headers = {"Authorization": header} if header else {}
    refused = client.get("/api/v1/auth/whoami", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "Bearer"


def test_a_session_expires(client, consortium, clock):
    vp = presentation(client, signer_of(AUDITOR_KEY, consortium))
    token = client.post("/api/v1/auth/session", json=vp).json()["token"]
    clock.now += 901
    me = client.get("/api/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401


def test_a_role_read_the_chain_refuses_is_a_rejection_not_a_503(consortium):
    """A deployment record whose Membership is another contract: the chain reverts the role
    read, which is not the chain being down (no 503 "retry shortly")."""
    c = consortium
    wrong = replace(
        c.deployment,
        addresses={**c.deployment.addresses, "Membership": c.deployment.address("DeviceRegistry")},
    )
    is_auditor = auditor_role_holder(c.w3, wrong)
    auditor = signer_of(AUDITOR_KEY, c)
    with pytest.raises(ChainRejected, match="Membership.isAuthorized"):
        is_auditor(auditor.did)

    client = TestClient(
        create_app(
            FakeIngestor(), auditor_sessions=AuditorSessions(domain=DOMAIN, is_auditor=is_auditor)
        )
    )
    opened = client.post("/api/v1/auth/session", json=presentation(client, auditor))
    assert opened.status_code == 502, opened.text
    assert "Membership.isAuthorized" in opened.json()["detail"]


def test_without_auditor_sessions_the_routes_are_absent():
    client = TestClient(create_app(FakeIngestor()))
    assert client.post("/api/v1/auth/challenge").status_code == 404
