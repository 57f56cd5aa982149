"""Bearer tokens: issued once, kept as hashes, honoured only while the chain agrees (real
anvil; the token database on SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from api.errors import AccessRefused, TokenError
from api.principals import Authenticator, chain_standing
from api.store.tokens import ApiToken, TokenStore, token_role
from api.store.trail import TrailStore
from ledger_client.roles import Role
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

pytestmark = pytest.mark.integration

CHAIN_ID = 31337
ORG = "did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_a_token_is_stored_as_its_hash_only(api_engine):
    issued = TokenStore(api_engine).issue(organization=ORG, role=Role.AUDITOR, chain_id=CHAIN_ID)
    with Session(api_engine) as session:
        (row,) = session.exec(select(ApiToken)).all()
    assert issued.token.startswith(f"plt_{row.id}_")
    assert issued.token.split("_")[-1] not in row.token_hash
    assert TokenStore(api_engine).find(issued.token) == issued.record


def test_a_token_with_a_wrong_secret_is_unknown(api_engine):
    issued = TokenStore(api_engine).issue(organization=ORG, role=Role.AUDITOR, chain_id=CHAIN_ID)
    forged = issued.token[:-4] + ("AAAA" if not issued.token.endswith("AAAA") else "BBBB")
    assert TokenStore(api_engine).find(forged) is None
    assert TokenStore(api_engine).find("plt_nothing") is None


@pytest.mark.parametrize(
    ("organization", "role", "expires_at", "message"),
    [
        ("did:web:example.com", Role.AUDITOR, None, "not an accepted DID"),
        (
            "did:pkh:eip155:1:0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            Role.AUDITOR,
            None,
            "not of this chain",
        ),
        (ORG, Role.GOVERNOR, None, "not GOVERNOR"),
        (ORG, Role.AUDITOR, datetime(2020, 1, 1, tzinfo=UTC), "not in the future"),
        (ORG, Role.AUDITOR, datetime(2099, 1, 1), "needs a time zone"),
    ],
)
def test_bad_issues_are_refused_and_store_nothing(
    api_engine, organization, role, expires_at, message
):
    store = TokenStore(api_engine)
    with pytest.raises(TokenError, match=message):
        store.issue(organization=organization, role=role, chain_id=CHAIN_ID, expires_at=expires_at)
    assert store.all() == []


def test_revoke_unknown_or_twice_is_refused(api_engine):
    store = TokenStore(api_engine)
    issued = store.issue(organization=ORG, role=Role.OPERATOR, chain_id=CHAIN_ID)
    with pytest.raises(TokenError, match="no token"):
        store.revoke("0123456789abcdef")
    revoked = store.revoke(issued.record.id)
    with pytest.raises(TokenError, match="revoked already"):
        store.revoke(issued.record.id)
    assert store.all() == [revoked]
    assert revoked.state(datetime.now(UTC)) == "revoked"


def test_token_roles_are_the_users_roles():
    assert token_role("auditor") is Role.AUDITOR
    with pytest.raises(TokenError, match="unknown role"):
        token_role("janitor")


# --------------------------------------------------------------- authorization table


def _revoked(store, members, role):
    issued = store.issue(organization=members.did(members.auditor), role=role, chain_id=CHAIN_ID)
    store.revoke(issued.record.id)
    return issued.token


def _expired(store, members, role):
    past = datetime.now(UTC) - timedelta(days=2)
    earlier = TokenStore(store.engine, clock=lambda: past)
    return earlier.issue(
        organization=members.did(members.auditor),
        role=role,
        chain_id=CHAIN_ID,
        expires_at=past + timedelta(hours=1),
    ).token


def _deactivated(store, members, role):
    token = store.issue(organization=members.did(members.auditor), role=role, chain_id=CHAIN_ID)
    members.consortium.membership().set_organization_active(members.auditor.address, False)
    return token.token


def _lost_role(store, members, role):
    token = store.issue(organization=members.did(members.auditor), role=role, chain_id=CHAIN_ID)
    members.consortium.membership().revoke_role(role, members.auditor.address)
    return token.token


def _valid(store, members, role):
    return store.issue(
        organization=members.did(members.auditor), role=role, chain_id=CHAIN_ID
    ).token


def _wrong_secret(store, members, role):
    token = _valid(store, members, role)
    return token[:-1] + ("A" if token[-1] != "A" else "B")


CASES = [
    ("no token", lambda *_: None, 401, "no bearer token"),
    ("not a token", lambda *_: "hello", 401, "unknown bearer"),
    ("unknown id", lambda *_: "plt_0123456789abcdef_" + "A" * 43, 401, "unknown bearer"),
    ("wrong secret", _wrong_secret, 401, "unknown bearer"),
    ("expired", _expired, 401, "is expired"),
    ("revoked", _revoked, 401, "is revoked"),
    ("organization deactivated", _deactivated, 403, "deactivated on chain"),
    ("role lost on chain", _lost_role, 403, "does not hold AUDITOR"),
    ("valid", _valid, 200, None),
]


@pytest.fixture
def token_app(members, api_engine):
    consortium = members.consortium
    store = TokenStore(api_engine)
    app = create_app(
        FakeIngestor(),
        tokens=store,
        standing=chain_standing(consortium.w3, consortium.deployment),
        trail_store=TrailStore(api_engine),
    )
    return store, TestClient(app)


@pytest.mark.parametrize(("case", "make", "status", "detail"), CASES, ids=[c[0] for c in CASES])
def test_who_is_let_in(token_app, members, case, make, status, detail):
    store, client = token_app
    token = make(store, members, Role.AUDITOR)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == status, response.text
    if detail is None:
        assert response.json()["organization"] == members.did(members.auditor)
        assert response.json()["role"] == "AUDITOR"
        assert TrailStore(store.engine).head().count == 1
    else:
        assert detail in response.json()["detail"]
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert TrailStore(store.engine).head().count == 0, "a refused request is not recorded"


def test_a_role_change_is_felt_within_two_seconds(token_app, members):
    store, client = token_app
    headers = {"Authorization": f"Bearer {_valid(store, members, Role.AUDITOR)}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    members.consortium.membership().revoke_role(Role.AUDITOR, members.auditor.address)
    time.sleep(2.05)
    assert client.get("/api/v1/me", headers=headers).status_code == 403


def test_an_operator_token_is_no_auditor(token_app, members):
    store, client = token_app
    token = store.issue(
        organization=members.did(members.consortium.operator),
        role=Role.OPERATOR,
        chain_id=CHAIN_ID,
    ).token
    response = client.get("/api/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert "needs the AUDITOR role" in response.json()["detail"]


def test_a_revocation_is_felt_within_two_seconds(token_app, members):
    store, client = token_app
    issued = store.issue(
        organization=members.did(members.auditor), role=Role.AUDITOR, chain_id=CHAIN_ID
    )
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    store.revoke(issued.record.id)
    time.sleep(2.05)
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "is revoked" in response.json()["detail"]


# ------------------------------------------------------------ the token record cache


class CountingTokens(TokenStore):
    def __init__(self, engine) -> None:
        super().__init__(engine)
        self.finds = 0

    def find(self, token):
        self.finds += 1
        return super().find(token)


@pytest.fixture
def cached(api_engine):
    """An authenticator on a fake clock (monotonic seconds and the wall time) whose tokens
    count their lookups."""
    tokens = CountingTokens(api_engine)
    clock = {"s": 100.0, "now": datetime.now(UTC)}
    authenticator = Authenticator(
        tokens=tokens,
        standing=lambda organization, role: None,
        clock=lambda: clock["s"],
        now=lambda: clock["now"],
    )
    return tokens, authenticator, clock


def test_a_token_record_is_read_again_after_two_seconds_so_a_revocation_holds(cached, members):
    tokens, authenticator, clock = cached
    issued = tokens.issue(
        organization=members.did(members.auditor), role=Role.AUDITOR, chain_id=CHAIN_ID
    )
    assert authenticator.principal(issued.token).id == issued.record.id
    tokens.revoke(issued.record.id)
    clock["s"] += 1.9
    assert authenticator.principal(issued.token).id == issued.record.id  # within the bound
    assert tokens.finds == 1
    clock["s"] += 0.1
    with pytest.raises(AccessRefused, match="is revoked"):
        authenticator.principal(issued.token)
    assert tokens.finds == 2


def test_a_cached_token_still_expires_on_time(cached, members):
    tokens, authenticator, clock = cached
    issued = tokens.issue(
        organization=members.did(members.auditor),
        role=Role.AUDITOR,
        chain_id=CHAIN_ID,
        expires_at=clock["now"] + timedelta(seconds=1),
    )
    authenticator.principal(issued.token)
    clock["now"] += timedelta(seconds=1)  # the record is cached; its expiry is not
    with pytest.raises(AccessRefused, match="is expired"):
        authenticator.principal(issued.token)
    assert tokens.finds == 1


def test_unknown_tokens_are_not_cached_and_a_wrong_secret_never_matches(cached, members):
    tokens, authenticator, _ = cached
    issued = tokens.issue(
        organization=members.did(members.auditor), role=Role.AUDITOR, chain_id=CHAIN_ID
    )
    authenticator.principal(issued.token)
    wrong = issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")
    for _ in range(2):
        with pytest.raises(AccessRefused, match="unknown bearer"):
            authenticator.principal(wrong)
    assert tokens.finds == 3


def test_the_event_loop_gets_a_principal_only_while_everything_is_cached(cached, members):
    tokens, authenticator, clock = cached
    issued = tokens.issue(
        organization=members.did(members.auditor), role=Role.AUDITOR, chain_id=CHAIN_ID
    )
    assert authenticator.cached_principal(issued.token) is None  # nothing read yet
    principal = authenticator.principal(issued.token)
    assert authenticator.cached_principal(issued.token) == principal
    assert authenticator.cached_principal(None) is None
    assert authenticator.cached_principal(issued.token + "x") is None
    clock["s"] += 2.0
    assert authenticator.cached_principal(issued.token) is None  # stale: looked up again
    authenticator.principal(issued.token)
    tokens.revoke(issued.record.id)
    clock["s"] += 2.0
    with pytest.raises(AccessRefused, match="is revoked"):
        authenticator.principal(issued.token)
    assert authenticator.cached_principal(issued.token) is None  # a refusal is never cached


def test_the_event_loop_gets_no_principal_whose_organization_was_refused(api_engine, members):
    tokens = TokenStore(api_engine)
    authenticator = Authenticator(
        tokens=tokens, standing=lambda organization, role: f"{organization} is deactivated"
    )
    issued = tokens.issue(
        organization=members.did(members.auditor), role=Role.AUDITOR, chain_id=CHAIN_ID
    )
    with pytest.raises(AccessRefused, match="is deactivated"):
        authenticator.principal(issued.token)
    assert authenticator.cached_principal(issued.token) is None
