"""Who sees what on a scan: the public sees the status, the steps, the cold chain and the
credentials; a bearer token of the API (or a node configured so) also shows each step's
event record and the raw readings. A token that is not honoured is a public scan, never an
error page."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.rate_limit import RateLimiter
from api.scan.answers import ScanAnswers
from api.scan.record import Party, ScanRecord, Step
from api.store.tokens import TokenStore
from ledger_client.identifiers import DigitalLink
from ledger_client.roles import Role
from oracle_bridge.batch_readings import StoredReading, TemperatureSeries
from oracle_bridge.readings import Reading
from tests.api.scan_fakes import Catalogue, Readings
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

GTIN = "09506000134352"
LOT = DigitalLink.lot(GTIN, "VIS-1")
PAGE = f"/scan/01/{GTIN}/10/VIS-1"
ORGANIZATION = "did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
DEVICE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
PAYLOAD = json.dumps(
    {"type": "ObjectEvent", "bizStep": "shipping", "readPoint": {"id": "urn:epc:id:sgln:SECRET.1"}}
)
STEP = Step(
    what="shipping",
    kind="OTHER",
    when=datetime(2026, 11, 21, 9, 30, tzinfo=UTC),
    by=Party("Acme Pharma", ORGANIZATION),
    event_index=0,
    tx_hash="0x" + "ab" * 32,
    block_number=42,
    log_index=1,
    payload=PAYLOAD,
)
START = int(datetime(2026, 11, 21, 10, 0, tzinfo=UTC).timestamp())
READINGS = [
    StoredReading(Reading(DEVICE, LOT.batch_id, seq, START + 60 * seq, 4_321 + seq, 555), b"", None)
    for seq in range(1, 4)
]


def node(
    tokens: TokenStore | None = None,
    *,
    standing=lambda organization, role: None,  # noqa: ANN001
    **options,  # noqa: ANN003
) -> TestClient:
    catalogue = Catalogue({LOT: ScanRecord(uri=LOT.uri, kind="LOT", status="ACTIVE", steps=[STEP])})
    readings = Readings(
        {LOT.batch_id: TemperatureSeries([(r.reading.timestamp, 4.3) for r in READINGS], (2, 8))},
        stored={LOT.batch_id: READINGS},
    )
    app = create_app(
        FakeIngestor(),
        catalogue=catalogue,
        readings_reader=readings,
        tokens=tokens,
        standing=standing if tokens is not None else None,
        **options,
    )
    return TestClient(app)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issue(tokens: TokenStore) -> str:
    return tokens.issue(organization=ORGANIZATION, role=Role.AUDITOR, chain_id=31337).token


def shows_details(page: str) -> bool:
    has_record = "urn:epc:id:sgln:SECRET.1" in page
    has_readings = "4.322" in page and "<table" in page
    assert has_record == has_readings, "event records and raw readings go together"
    return has_record


@pytest.fixture
def tokens(api_engine) -> TokenStore:
    return TokenStore(api_engine)


def test_the_public_sees_status_steps_cold_chain_but_no_records_or_readings(tokens):
    http = node(tokens)
    response = http.get(PAGE)
    assert response.status_code == 200
    page = response.text
    assert "Status: ACTIVE" in page and "shipping" in page and "Acme Pharma" in page
    assert "<svg" in page and "Verified on the ledger" in page
    assert not shows_details(page)
    assert "shown to members of the ledger with an API token" in page
    assert response.headers["cache-control"] == "no-cache"
    assert "Authorization" in response.headers["vary"]
    record = http.get(PAGE, headers={"Accept": "application/json"}).json()
    assert record["steps"][0]["what"] == "shipping"
    assert "event" not in record["steps"][0]


def test_a_token_shows_each_steps_record_and_the_raw_readings(tokens):
    http = node(tokens)
    token = issue(tokens)
    response = http.get(PAGE, headers=bearer(token))
    assert response.status_code == 200
    assert shows_details(response.text)
    assert "All 3 signed readings" in response.text
    assert "API token" not in response.text
    assert response.headers["cache-control"] == "private, no-cache"
    record = http.get(PAGE, headers={**bearer(token), "Accept": "application/json"}).json()
    assert record["steps"][0]["event"] == json.loads(PAYLOAD)
    # The public's answer is still the public one after a member's.
    assert not shows_details(http.get(PAGE).text)


def _expired(tokens: TokenStore) -> str:
    past = datetime.now(UTC) - timedelta(days=2)
    earlier = TokenStore(tokens.engine, clock=lambda: past)
    return earlier.issue(
        organization=ORGANIZATION,
        role=Role.AUDITOR,
        chain_id=31337,
        expires_at=past + timedelta(hours=1),
    ).token


def _revoked(tokens: TokenStore) -> str:
    issued = tokens.issue(organization=ORGANIZATION, role=Role.AUDITOR, chain_id=31337)
    tokens.revoke(issued.record.id)
    return issued.token


@pytest.mark.parametrize(
    "authorization",
    [
        lambda tokens: "Bearer plt_unknown_token_0000000000",
        lambda tokens: f"Bearer {_expired(tokens)}",
        lambda tokens: f"Bearer {_revoked(tokens)}",
        lambda tokens: "Bearer not-a-token-at-all",
        lambda tokens: "Bearer ",
        lambda tokens: f"Basic {issue(tokens)}",
    ],
    ids=["unknown", "expired", "revoked", "garbage", "empty", "not-bearer"],
)
def test_a_token_not_honoured_is_a_public_scan_not_an_error(tokens, authorization):
    http = node(tokens)
    public = http.get(PAGE)
    response = http.get(PAGE, headers={"Authorization": authorization(tokens)})
    assert response.status_code == 200
    assert response.text == public.text
    assert response.headers["etag"] == public.headers["etag"]
    assert response.headers["cache-control"] == "no-cache"
    record = http.get(
        PAGE, headers={"Authorization": authorization(tokens), "Accept": "application/json"}
    )
    assert record.status_code == 200 and "event" not in record.json()["steps"][0]


def test_a_token_whose_organization_lost_its_standing_is_a_public_scan(tokens):
    http = node(tokens, standing=lambda organization, role: f"{organization} is deactivated")
    response = http.get(PAGE, headers=bearer(issue(tokens)))
    assert response.status_code == 200
    assert not shows_details(response.text)
    assert "deactivated" not in response.text


def test_a_token_over_its_budget_is_a_public_scan(tokens):
    http = node(tokens, rate_limiter=RateLimiter(per_s=0.001, burst=1))
    token = issue(tokens)
    assert shows_details(http.get(PAGE, headers=bearer(token)).text)
    over = http.get(PAGE, headers=bearer(token))
    assert over.status_code == 200 and not shows_details(over.text)


def test_a_node_may_show_the_details_to_everyone(tokens):
    http = node(tokens, scan_public_details=True)
    assert shows_details(http.get(PAGE).text)
    json_ = {"Accept": "application/json"}
    assert "event" in http.get(PAGE, headers=json_).json()["steps"][0]
    # The resolver's own JSON answer too.
    resolved = http.get(f"/01/{GTIN}/10/VIS-1", headers=json_).json()
    assert resolved["steps"][0]["event"] == json.loads(PAYLOAD)


def test_the_resolvers_json_is_the_public_record(tokens):
    http = node(tokens)
    resolved = http.get(f"/01/{GTIN}/10/VIS-1", headers={"Accept": "application/json"})
    assert resolved.status_code == 200 and "event" not in resolved.json()["steps"][0]


def test_a_node_without_tokens_shows_the_public_scan_to_a_bearer():
    http = node()
    response = http.get(PAGE, headers=bearer("plt_anything"))
    assert response.status_code == 200 and not shows_details(response.text)


def test_a_status_change_shows_at_once_and_a_kept_page_is_rechecked():
    now = [0.0]
    http = node(scan_answers=ScanAnswers(recheck_s=10, clock=lambda: now[0]))
    first = http.get(PAGE)
    assert "Status: ACTIVE" in first.text
    assert http.get(PAGE, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    catalogue = http.app.state.catalogue
    catalogue.records[LOT] = replace(catalogue.records[LOT], status="QUARANTINED")
    assert "Status: QUARANTINED" in http.get(PAGE).text
    assert http.get(PAGE, headers={"If-None-Match": first.headers["etag"]}).status_code == 200
    # What the lot's version does not cover (its readings) is read again once the page is
    # `recheck_s` old.
    readings = http.app.state.readings_reader
    readings.series[LOT.batch_id] = TemperatureSeries([(START, 9.5), (START + 60, 9.6)], (2, 8))
    assert "9.6 °C" not in http.get(PAGE).text
    now[0] += 10
    assert "9.6 °C" in http.get(PAGE).text


def test_a_kept_answer_goes_gzip_encoded_to_a_client_that_takes_it():
    http = node()
    json_ = {"Accept": "application/json"}
    plain = http.get(PAGE, headers={**json_, "Accept-Encoding": "identity"})
    packed = http.get(PAGE, headers={**json_, "Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # decoded by the client
    assert "Accept-Encoding" in packed.headers["vary"]
    assert packed.headers["etag"] != plain.headers["etag"]
    again = http.get(
        PAGE,
        headers={**json_, "Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]},
    )
    assert again.status_code == 304
    page = http.get(PAGE, headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip" and "Status: ACTIVE" in page.text
