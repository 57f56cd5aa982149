"""Per-token request budgets: the bucket itself, and 429 with Retry-After over HTTP, each
refused request still in the access trail."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.rate_limit import RateLimiter, retry_after_header
from api.store.tokens import TokenStore
from api.store.trail import TrailStore
from ledger_client.roles import Role
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

ORGANIZATION = "did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.unit
def test_a_burst_is_admitted_then_one_request_per_interval():
    clock = Clock()
    limiter = RateLimiter(per_s=2, burst=3, clock=clock)
    assert [limiter.admit("t1") for _ in range(3)] == [None, None, None]
    assert limiter.admit("t1") == pytest.approx(0.5)
    # Another principal has a budget of its own.
    assert limiter.admit("t2") is None
    clock.now += 0.5
    assert limiter.admit("t1") is None
    assert limiter.admit("t1") == pytest.approx(0.5)
    # Idle time refills up to the burst, never beyond.
    clock.now += 100
    assert [limiter.admit("t1") for _ in range(4)][-1] == pytest.approx(0.5)


@pytest.mark.unit
def test_bad_budgets_and_retry_after_rounding():
    with pytest.raises(ValueError, match="per_s > 0"):
        RateLimiter(per_s=0, burst=1)
    with pytest.raises(ValueError, match="burst >= 1"):
        RateLimiter(per_s=1, burst=0)
    assert [retry_after_header(s) for s in (0.01, 1.0, 1.2)] == ["1", "1", "2"]


def test_a_token_over_its_budget_is_answered_429_and_trailed(api_engine):
    tokens = TokenStore(api_engine)
    trail = TrailStore(api_engine)
    mine = tokens.issue(organization=ORGANIZATION, role=Role.AUDITOR, chain_id=31337).token
    other = tokens.issue(organization=ORGANIZATION, role=Role.AUDITOR, chain_id=31337).token
    app = create_app(
        FakeIngestor(),
        tokens=tokens,
        standing=lambda organization, role: None,
        trail_store=trail,
        rate_limiter=RateLimiter(per_s=0.01, burst=2),
    )
    http = TestClient(app)
    me = {"Authorization": f"Bearer {mine}"}
    statuses = [http.get("/api/v1/me", headers=me).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = http.get("/api/v1/me", headers=me)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 99
    assert "too many requests" in refused.json()["detail"]
    assert http.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    # No token is no principal: refused as unauthenticated, not counted against anyone.
    assert http.get("/api/v1/me").status_code == 401
    assert [chained.entry.status for chained in trail.entries()] == [200, 200, 429, 429, 200]
