"""The access trail: every authenticated request once, in order, with its status; tampering
with the table (an entry edited, deleted, moved) is found and named; governors read it all,
auditors their own organization's entries (real anvil; SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.auditor_sessions import AuditorSessions
from api.principals import chain_standing
from api.store.tokens import TokenStore
from api.store.trail import TrailStore
from api.trail import GENESIS, AnchoredHead, TrailEntry, verify_trail
from credentials.presentations import VerifiedPresentation
from ledger_client.roles import Role
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

pytestmark = pytest.mark.integration

CHAIN_ID = 31337


def _entry(n: int, organization: str = "did:example:org") -> TrailEntry:
    return TrailEntry(
        seq=0,
        at=f"2026-01-01T00:00:{n:02d}.000000Z",
        principal="0123456789abcdef",
        organization=organization,
        role="AUDITOR",
        method="GET",
        path=f"/api/v1/things/{n}",
        query="a=1&b=%C3%A9",
        status=200,
    )


@pytest.fixture
def filled(api_engine):
    store = TrailStore(api_engine)
    for n in range(1, 6):
        store.append(_entry(n))
    return store


def _verdict(store, anchors=()):
    return verify_trail(store.entries(), list(anchors))


def test_appended_entries_chain_from_genesis(filled):
    entries = list(filled.entries())
    assert [stored.entry.seq for stored in entries] == [1, 2, 3, 4, 5]
    assert entries[0].previous == GENESIS
    assert all(b.previous == a.hash for a, b in zip(entries, entries[1:], strict=False))
    assert filled.head().count == 5 and filled.head().hash == entries[-1].hash
    assert _verdict(filled).intact


SWAP_2_AND_3 = (
    "UPDATE access_trail SET seq = 100 WHERE seq = 2",
    "UPDATE access_trail SET seq = 2 WHERE seq = 3",
    "UPDATE access_trail SET seq = 3 WHERE seq = 100",
)


@pytest.mark.parametrize(
    ("tamper", "bad_entry", "message"),
    [
        (["UPDATE access_trail SET status = 404 WHERE seq = 3"], 3, "entry 3 was edited"),
        (["UPDATE access_trail SET organization = 'x' WHERE seq = 1"], 1, "entry 1 was edited"),
        (["UPDATE access_trail SET hash = previous WHERE seq = 4"], 4, "entry 4 was edited"),
        (["DELETE FROM access_trail WHERE seq = 2"], 2, "entry 2 is missing (found 3)"),
        (["DELETE FROM access_trail WHERE seq = 1"], 1, "entry 1 is missing"),
        (["UPDATE access_trail SET seq = -seq WHERE seq IN (2, 3)"], 1, "reordered"),
        (SWAP_2_AND_3, 2, "does not follow entry 1"),
    ],
    ids=[
        "status",
        "organization",
        "hash",
        "middle deleted",
        "first deleted",
        "renumbered",
        "swapped",
    ],
)
def test_tampering_is_found_and_named(filled, tamper, bad_entry, message):
    with filled.engine.begin() as connection:
        for statement in tamper:
            connection.execute(text(statement))
    verdict = _verdict(filled)
    assert not verdict.intact
    assert verdict.bad_entry == bad_entry, verdict.problem
    assert message in (verdict.problem or "")


def test_a_rewritten_or_truncated_trail_is_caught_by_its_anchors(filled):
    entries = list(filled.entries())
    anchor = AnchoredHead(entries[2].hash, 3, block=7, tx="0xabc")
    assert _verdict(filled, [anchor]).intact
    # Entry 2 edited and the whole chain recomputed after it: consistent, but not anchored.
    rewritten = [entries[0]]
    previous = entries[0].hash
    for stored in entries[1:]:
        entry = replace(stored.entry, status=201) if stored.entry.seq == 2 else stored.entry
        new_hash = entry.hash_after(previous)
        rewritten.append(replace(stored, entry=entry, previous=previous, hash=new_hash))
        previous = new_hash
    verdict = verify_trail(rewritten, [anchor])
    assert verdict.bad_entry == 3 and "block 7" in (verdict.problem or "")
    # The tail deleted, head and all: the anchor still counts 5.
    with filled.engine.begin() as connection:
        connection.execute(text("DELETE FROM access_trail WHERE seq >= 4"))
    verdict = _verdict(filled, [AnchoredHead(entries[4].hash, 5, block=9, tx="0xdef")])
    assert verdict.bad_entry == 4 and "entries 4… were deleted" in (verdict.problem or "")


# ------------------------------------------------------------------------- over HTTP


@pytest.fixture
def served(members, api_engine):
    consortium = members.consortium
    tokens = TokenStore(api_engine)
    app = create_app(
        FakeIngestor(),
        tokens=tokens,
        standing=chain_standing(consortium.w3, consortium.deployment),
        trail_store=TrailStore(api_engine),
    )
    return tokens, TestClient(app, raise_server_exceptions=False)


def _bearer(tokens, members, account, role=Role.AUDITOR):
    token = tokens.issue(organization=members.did(account), role=role, chain_id=CHAIN_ID)
    return {"Authorization": f"Bearer {token.token}"}, token.record.id


def test_every_authenticated_request_appears_once_with_its_status(served, members):
    tokens, client = served
    auditor, auditor_id = _bearer(tokens, members, members.auditor)
    operator, operator_id = _bearer(tokens, members, members.consortium.operator, Role.OPERATOR)
    calls = [
        (client.get, "/api/v1/me?x=1&y=%C3%A9", auditor, 200),
        (client.get, "/api/v1/auth/whoami", operator, 403),
        (client.get, "/api/v1/me", {}, 401),
        (client.get, "/api/v1/me", {"Authorization": "Bearer plt_nope"}, 401),
        (client.post, "/api/v1/credentials/verify", auditor, 404),
        (client.get, "/api/v1/trail?limit=0", auditor, 422),
        (client.get, "/api/v1/me", operator, 200),
    ]
    for call, url, headers, status in calls:
        assert call(url, headers=headers).status_code == status, url
    stored = list(TrailStore(tokens.engine).entries())
    seen = [(s.entry.principal, s.entry.method, s.entry.path, s.entry.status) for s in stored]
    assert seen == [
        (auditor_id, "GET", "/api/v1/me", 200),
        (operator_id, "GET", "/api/v1/auth/whoami", 403),
        (auditor_id, "POST", "/api/v1/credentials/verify", 404),
        (auditor_id, "GET", "/api/v1/trail", 422),
        (operator_id, "GET", "/api/v1/me", 200),
    ]
    assert stored[0].entry.query == "x=1&y=%C3%A9"
    assert stored[0].entry.organization == members.did(members.auditor)
    assert verify_trail(stored, []).intact


def test_auditors_read_their_own_entries_and_governors_all(served, members):
    tokens, client = served
    consortium = members.consortium
    governor = consortium.governor
    membership = consortium.membership()
    membership.grant_role(Role.AUDITOR, governor.address)
    membership.register_organization(governor.address, did=members.did(governor), name="Gov")
    auditor, _ = _bearer(tokens, members, members.auditor)
    governs, _ = _bearer(tokens, members, governor)
    operator, _ = _bearer(tokens, members, consortium.operator, Role.OPERATOR)
    client.get("/api/v1/me", headers=operator)
    own = client.get("/api/v1/trail", headers=auditor).json()
    assert [e["organization"] for e in own["entries"]] == []  # its request is written after
    own = client.get("/api/v1/trail", headers=auditor).json()
    assert {e["organization"] for e in own["entries"]} == {members.did(members.auditor)}
    assert (
        client.get(
            "/api/v1/trail",
            params={"organization": members.did(consortium.operator)},
            headers=auditor,
        ).status_code
        == 403
    )
    everything = client.get("/api/v1/trail", headers=governs).json()["entries"]
    assert len(everything) == 4
    paged = client.get("/api/v1/trail", params={"limit": 2}, headers=governs).json()
    assert [e["seq"] for e in paged["entries"]] == [1, 2] and paged["next_after"] == 2
    rest = client.get("/api/v1/trail", params={"after": 2}, headers=governs).json()
    assert [e["seq"] for e in rest["entries"]] == [3, 4, 5, 6] and rest["next_after"] is None
    assert client.get("/api/v1/trail", headers=operator).status_code == 403


def test_a_request_whose_entry_cannot_be_written_is_refused(members, api_engine):
    class BrokenStore(TrailStore):
        def append_many(self, entries):
            raise OSError("disk full")

    consortium = members.consortium
    tokens = TokenStore(api_engine)
    app = create_app(
        FakeIngestor(),
        tokens=tokens,
        standing=chain_standing(consortium.w3, consortium.deployment),
        trail_store=BrokenStore(api_engine),
    )
    headers, _ = _bearer(tokens, members, members.auditor)
    response = TestClient(app).get("/api/v1/me", headers=headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "access trail" in response.json()["detail"]
    assert members.did(members.auditor) not in response.text


def test_a_did_auth_session_is_recorded_by_its_digest_never_its_token(api_engine):
    auditor = "did:pkh:eip155:31337:0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
    sessions = AuditorSessions(
        domain="audit.example",
        is_auditor=lambda did: did == auditor,
        verify=lambda presentation, **_: VerifiedPresentation(auditor, ()),
    )
    client = TestClient(
        create_app(FakeIngestor(), auditor_sessions=sessions, trail_store=TrailStore(api_engine))
    )
    challenge = client.post("/api/v1/auth/challenge").json()["challenge"]
    opened = client.post(
        "/api/v1/auth/session",
        json={"holder": auditor, "verifiableCredential": [], "proof": {"challenge": challenge}},
    ).json()
    headers = {"Authorization": f"Bearer {opened['token']}"}
    assert client.get("/api/v1/auth/whoami", headers=headers).json() == {"auditor": auditor}
    (stored,) = TrailStore(api_engine).entries()
    assert stored.entry.principal.startswith("session:")
    assert opened["token"] not in stored.entry.principal
    assert (stored.entry.organization, stored.entry.path) == (auditor, "/api/v1/auth/whoami")
