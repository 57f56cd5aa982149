"""Auditor sessions with fakes of the chain and the proof engine: what a request may cost
before anything is verified, and how many challenges the process holds."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auditor_sessions import MAX_PRESENTATION_BYTES, AuditorSessions
from api.errors import AuditorRefused
from credentials.presentations import VerifiedPresentation
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

DOMAIN = "audit.provenance.example"
AUDITOR = "did:pkh:eip155:31337:0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class RecordingVerify:
    """A verifier that accepts every presentation and records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[object] = []

    def __call__(self, presentation, *, challenge: str, domain: str) -> VerifiedPresentation:
        self.calls.append(presentation)
        return VerifiedPresentation(presentation["holder"], ())


def bare_presentation(challenge: str, holder: str = AUDITOR) -> dict:
    return {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [],
        "proof": {"proofPurpose": "authentication", "challenge": challenge, "domain": DOMAIN},
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verify() -> RecordingVerify:
    return RecordingVerify()


@pytest.fixture
def auditors() -> set[str]:
    return {AUDITOR}


@pytest.fixture
def sessions(clock, verify, auditors) -> AuditorSessions:
    return AuditorSessions(
        domain=DOMAIN, is_auditor=auditors.__contains__, verify=verify, clock=clock
    )


@pytest.fixture
def client(sessions) -> TestClient:
    return TestClient(create_app(FakeIngestor(), auditor_sessions=sessions))


def test_a_bare_presentation_opens_a_session_and_logout_ends_it(client, verify):
    issued = client.post("/api/v1/auth/challenge").json()["challenge"]
    opened = client.post("/api/v1/auth/session", json=bare_presentation(issued))
    assert opened.status_code == 200, opened.text
    assert len(verify.calls) == 1
    bearer = {"Authorization": f"Bearer {opened.json()['token']}"}
    assert client.get("/api/v1/auth/whoami", headers=bearer).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
    assert client.get("/api/v1/auth/whoami", headers=bearer).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 401


def test_a_session_lasts_fifteen_minutes_by_default(client, clock):
    issued = client.post("/api/v1/auth/challenge").json()["challenge"]
    opened = client.post("/api/v1/auth/session", json=bare_presentation(issued)).json()
    assert opened["expires_at"] == clock.now + 900
    bearer = {"Authorization": f"Bearer {opened['token']}"}
    clock.now += 899
    assert client.get("/api/v1/auth/whoami", headers=bearer).status_code == 200
    clock.now += 1
    assert client.get("/api/v1/auth/whoami", headers=bearer).status_code == 401


def test_a_megabyte_body_is_refused_unread_and_unverified(client, verify):
    issued = client.post("/api/v1/auth/challenge").json()["challenge"]
    padded = bare_presentation(issued) | {"padding": "x" * (1 << 20)}
    refused = client.post("/api/v1/auth/session", json=padded)
    assert refused.status_code == 413
    assert f"exceeds {MAX_PRESENTATION_BYTES} bytes" in refused.json()["detail"]
    assert verify.calls == []
    # Refused before it was read: the challenge is still good.
    opened = client.post("/api/v1/auth/session", json=bare_presentation(issued))
    assert opened.status_code == 200


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(client, verify):
    def chunks():
        for _ in range(1024):
            yield b" " * 1024

    refused = client.post(
        "/api/v1/auth/session", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 413
    assert verify.calls == []


def test_a_holder_without_the_role_is_refused_before_any_proof_is_checked(client, verify):
    issued = client.post("/api/v1/auth/challenge").json()["challenge"]
    outsider = "did:pkh:eip155:31337:0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    refused = client.post("/api/v1/auth/session", json=bare_presentation(issued, outsider))
    assert refused.status_code == 403
    assert verify.calls == []


def test_a_presentation_carrying_a_credential_is_refused_unverified(client, verify):
    issued = client.post("/api/v1/auth/challenge").json()["challenge"]
    carrying = bare_presentation(issued) | {"verifiableCredential": [{"type": ["X"]}]}
    refused = client.post("/api/v1/auth/session", json=carrying)
    assert refused.status_code == 400
    assert "bare DID-auth presentation" in refused.json()["detail"]
    assert verify.calls == []


def test_a_body_that_is_not_a_json_object_is_a_bad_request(client, verify):
    for body in (b"[1, 2]", b"{nope", b'{"a": 1, "a": 2}'):
        refused = client.post(
            "/api/v1/auth/session", content=body, headers={"Content-Type": "application/json"}
        )
        assert refused.status_code == 400, body
    assert verify.calls == []


def test_a_role_lost_mid_session_closes_it_after_the_cache_window(client, auditors, clock):
    issued = client.post("/api/v1/auth/challenge").json()["challenge"]
    token = client.post("/api/v1/auth/session", json=bare_presentation(issued)).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    auditors.clear()
    clock.now += 1.9
    assert client.get("/api/v1/auth/whoami", headers=bearer).status_code == 200
    clock.now += 0.1
    refused = client.get("/api/v1/auth/whoami", headers=bearer)
    assert refused.status_code == 401
    assert "no longer authorized as AUDITOR" in refused.json()["detail"]
    auditors.add(AUDITOR)  # a role granted again does not revive a closed session
    assert client.get("/api/v1/auth/whoami", headers=bearer).status_code == 401


def test_a_chain_that_does_not_answer_is_503_not_a_session(clock, verify):
    def unreachable(did: str) -> bool:
        raise AuditorRefused("the chain did not answer", status=503, retry_after_s=5)

    sessions = AuditorSessions(domain=DOMAIN, is_auditor=unreachable, verify=verify, clock=clock)
    client = TestClient(create_app(FakeIngestor(), auditor_sessions=sessions))
    issued = client.post("/api/v1/auth/challenge").json()["challenge"]
    refused = client.post("/api/v1/auth/session", json=bare_presentation(issued))
    assert (refused.status_code, refused.headers["Retry-After"]) == (503, "5")
    assert verify.calls == []


def test_outstanding_challenges_are_bounded_and_freed_as_they_expire(clock, verify):
    sessions = AuditorSessions(
        domain=DOMAIN, is_auditor=lambda did: True, verify=verify, clock=clock, max_challenges=3
    )
    client = TestClient(create_app(FakeIngestor(), auditor_sessions=sessions))
    for _ in range(3):
        assert client.post("/api/v1/auth/challenge").status_code == 200
        clock.now += 10
    refused = client.post("/api/v1/auth/challenge")
    assert refused.status_code == 503
    assert "3 challenges are outstanding" in refused.json()["detail"]
    assert refused.headers["Retry-After"] == "270"  # when the oldest expires
    assert sessions.outstanding_challenges == 3
    clock.now += 271
    assert client.post("/api/v1/auth/challenge").status_code == 200
    assert sessions.outstanding_challenges == 3  # the oldest two dropped, one new


class CountedNow(float):
    """A time whose comparisons with expiry times are counted (Python asks a float
    subclass first, whichever side of the comparison it is on)."""

    comparisons = 0

    def _count(self, other: object) -> bool:
        type(self).comparisons += 1
        return NotImplemented  # type: ignore[return-value]

    __lt__ = __le__ = __gt__ = __ge__ = _count


def test_expiring_challenges_looks_only_at_the_expired_ones(clock, verify):
    sessions = AuditorSessions(
        domain=DOMAIN, is_auditor=lambda did: True, verify=verify, clock=clock
    )
    for _ in range(5_000):
        sessions.challenge()
        clock.now += 0.01
    clock.now = CountedNow(clock.now)
    CountedNow.comparisons = 0
    sessions.challenge()
    assert CountedNow.comparisons <= 4  # not one per outstanding challenge
    assert sessions.outstanding_challenges == 5_001
    clock.now = CountedNow(clock.now + 300 - 25)  # the oldest 2,500 or so have expired
    CountedNow.comparisons = 0
    sessions.challenge()
    assert 2_000 < sessions.outstanding_challenges < 3_000
    assert CountedNow.comparisons <= 2 * (5_001 - sessions.outstanding_challenges) + 4
