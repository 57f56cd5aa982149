"""`POST /api/v1/readings` and `GET /healthz` with an in-memory ingestor."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import ReadingLimits
from ledger_client.errors import ChainRejected, revert_class
from oracle_bridge.config import BridgeSettings
from oracle_bridge.errors import MalformedBatch, StoreUnavailable
from oracle_bridge.sources.batch import split_json_array
from tests.oracle_bridge.ingress.ingress_fakes import (
    DEVICE,
    DOMAIN,
    FakeIngestor,
    FakeResult,
    signed_json,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def ingestor() -> FakeIngestor:
    return FakeIngestor(domain=DOMAIN)


@pytest.fixture
def client(ingestor: FakeIngestor) -> TestClient:
    return TestClient(create_app(ingestor, limits=ReadingLimits(body_bytes=8192, readings=10)))


def batch(*items: bytes) -> bytes:
    return b"[" + b",".join(items) + b"]"


def test_a_batch_gets_one_result_per_item_in_order(client, ingestor):
    tampered = signed_json(3).replace(b'"tempMilliC":5000', b'"tempMilliC":4000')
    body = batch(signed_json(1), signed_json(2), tampered, b'"text"', signed_json(1))

    response = client.post("/api/v1/readings", content=body)

    assert response.status_code == 200
    results = response.json()
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert [r["status"] for r in results] == [
        "accepted",
        "accepted",
        "rejected",
        "rejected",
        "duplicate",
    ]
    assert results[0] == {
        "index": 0,
        "status": "accepted",
        "reason": None,
        "device": DEVICE.address,
        "seq": 1,
    }
    assert "signed by" in results[2]["reason"]
    assert "must be a JSON object" in results[3]["reason"]
    assert [raw for raw, _ in ingestor.dead_letters] == [tampered, b'"text"']
    assert {source for _, source in ingestor.calls} == {"http:testclient"}


def test_items_reach_the_ingestor_byte_for_byte(client, ingestor):
    spaced = b'{ "device" : 1,\n "device": 2 }'
    body = b" [\n" + signed_json(1) + b" ,\t" + spaced + b"\n] \n"

    assert client.post("/api/v1/readings", content=body).status_code == 200
    assert [raw for raw, _ in ingestor.calls] == [signed_json(1), spaced]
    assert "appears twice" in ingestor.dead_letters[0][1]


def test_an_empty_array_is_an_empty_answer(client):
    response = client.post("/api/v1/readings", json=[])
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (signed_json(1), "must be a JSON array"),
        (b'{"readings": []}', "must be a JSON array"),
        (b"", "must be a JSON array"),
        (b"[" + signed_json(1), "not valid JSON"),
        (batch(signed_json(1)) + b"]", "data after the array"),
        (b"[1 2]", "expected ',' or ']'"),
        (b"[1,]", "not valid JSON"),
        (b"\xff[]", "not UTF-8"),
    ],
)
def test_a_body_that_is_not_a_json_array_is_400_and_nothing_is_ingested(
    client, ingestor, body, problem
):
    response = client.post("/api/v1/readings", content=body)
    assert response.status_code == 400
    assert problem in response.json()["detail"]
    assert ingestor.calls == []


def test_an_oversized_body_is_413_and_nothing_is_ingested(client, ingestor):
    items = [signed_json(seq) for seq in range(1, 40)]
    response = client.post("/api/v1/readings", content=batch(*items))
    assert response.status_code == 413
    assert "exceeds 8192 bytes" in response.json()["detail"]
    assert ingestor.calls == []


def test_an_oversized_chunked_body_is_413(client, ingestor):
    def chunks():
        yield b"["
        for seq in range(1, 40):
            yield signed_json(seq) + b","
        yield signed_json(40) + b"]"

    response = client.post("/api/v1/readings", content=chunks())
    assert response.status_code == 413
    assert ingestor.calls == []


def test_a_body_of_more_readings_than_allowed_is_413_and_nothing_is_ingested(client, ingestor):
    response = client.post("/api/v1/readings", content=b"[" + b",".join([b"0"] * 11) + b"]")
    assert response.status_code == 413
    assert response.json()["detail"] == (
        "the body holds more than 10 readings; send at most 10 per request"
    )
    assert ingestor.calls == []
    assert client.post("/api/v1/readings", content=batch(*[b"0"] * 10)).status_code == 200


def test_a_reading_over_its_byte_limit_is_413_for_the_whole_batch(ingestor):
    client = TestClient(create_app(ingestor, limits=ReadingLimits(reading_bytes=400)))
    padded = signed_json(2)[:-1] + b', "padding": "' + b"x" * 40 + b'"}'
    assert len(signed_json(1)) <= 400 < len(padded)

    response = client.post("/api/v1/readings", content=batch(signed_json(1), padded))

    assert response.status_code == 413
    assert response.json()["detail"] == (
        f"reading 1 is {len(padded)} bytes, over the limit of 400 bytes a reading; "
        "nothing of the batch was stored"
    )
    assert ingestor.calls == []


def test_a_batch_is_handed_to_the_ingestor_as_one_batch(client, ingestor):
    body = batch(signed_json(1), signed_json(2), signed_json(3))
    assert client.post("/api/v1/readings", content=body).status_code == 200
    assert ingestor.batches == [3]


def test_a_store_failure_is_503_and_a_retry_reports_the_stored_items_as_duplicates(ingestor):
    failing_second = FailOnCall(ingestor, call=2)
    client = TestClient(create_app(failing_second))
    assert client.post("/api/v1/readings", content=batch(signed_json(1))).status_code == 200
    body = batch(signed_json(1), signed_json(2), signed_json(3))

    failed = client.post("/api/v1/readings", content=body)
    assert failed.status_code == 503
    assert "retry the whole batch" in failed.json()["detail"]
    assert failed.headers["Retry-After"] == "5"
    assert list(ingestor.stored) == [(DEVICE.address, 1)]

    retried = client.post("/api/v1/readings", content=body)
    assert [r["status"] for r in retried.json()] == ["duplicate", "accepted", "accepted"]


def test_a_chain_refusal_is_502_not_a_503_to_retry(ingestor):
    refusal = revert_class("Unknown")("Unknown", {}, "DeviceRegistry.device: reverted")
    client = TestClient(create_app(FailOnCall(ingestor, call=1, error=refusal)))
    refused = client.post("/api/v1/readings", content=batch(signed_json(1)))
    assert refused.status_code == 502
    assert refused.json() == {
        "detail": "the chain refused a read this request needs: DeviceRegistry.device: reverted"
    }
    assert "Retry-After" not in refused.headers
    assert ingestor.stored == {}


@dataclass
class FailOnCall:
    """Passes calls to `inner`, except call number `call`, which raises `error` (storing
    nothing)."""

    inner: FakeIngestor
    call: int
    calls: int = 0
    error: Exception = field(default_factory=lambda: StoreUnavailable("the store is down"))

    def accept_many(
        self, raws: Sequence[bytes], *, source: str | Sequence[str]
    ) -> list[FakeResult]:
        self.calls += 1
        if self.calls == self.call:
            raise self.error
        return self.inner.accept_many(raws, source=source)


def test_the_openapi_document_has_stable_ids_and_the_array_body(client):
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/readings"]["post"]
    assert post["operationId"] == "readings-submit_readings"
    assert spec["paths"]["/healthz"]["get"]["operationId"] == "health-healthz"
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["type"] == "array"
    assert set(schema["items"]["properties"]) == set(json.loads(signed_json(1)))
    assert client.get("/docs").status_code == 200


@dataclass
class FakeBridge:
    ingestor: FakeIngestor
    database: bool = True
    chain: bool | ChainRejected = True
    backlog: int = 0
    raised: dict[str, str] = field(default_factory=dict)
    settings: BridgeSettings = field(default_factory=BridgeSettings)

    def database_reachable(self) -> bool:
        return self.database

    def chain_reachable(self) -> bool:
        if isinstance(self.chain, ChainRejected):
            raise self.chain
        return self.chain

    def inbox_backlog(self) -> int:
        return self.backlog

    def conditions(self) -> dict[str, str]:
        return self.raised


def test_healthz_reports_database_chain_and_backlog(ingestor):
    bridge = FakeBridge(ingestor, backlog=12)
    client = TestClient(create_app(bridge))
    assert client.get("/healthz").json() == {
        "status": "ok",
        "database": True,
        "chain": True,
        "inbox_backlog": 12,
        "conditions": {},
    }
    assert client.post("/api/v1/readings", content=batch(signed_json(1))).status_code == 200
    assert ingestor.stored

    bridge.raised = {"store": "the last 3 writes failed"}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["conditions"] == {"store": "the last 3 writes failed"}
    bridge.raised = {}

    bridge.chain = False
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"

    bridge.database = False
    assert client.get("/healthz").json()["inbox_backlog"] is None


def test_healthz_reports_a_node_that_refuses_as_reachable_with_its_own_condition(ingestor):
    bridge = FakeBridge(ingestor, chain=ChainRejected("eth_blockNumber: unauthorized"))
    response = TestClient(create_app(bridge)).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": True,
        "chain": True,
        "inbox_backlog": 0,
        "conditions": {"chain_refused": "eth_blockNumber: unauthorized"},
    }
    assert bridge.raised == {}


def test_a_served_bridge_s_settings_set_the_limits(ingestor):
    bridge = FakeBridge(ingestor, settings=BridgeSettings(http_max_readings=2))
    client = TestClient(create_app(bridge))
    body = batch(signed_json(1), signed_json(2), signed_json(3))
    assert client.post("/api/v1/readings", content=body).status_code == 413
    assert ingestor.calls == []


def test_healthz_of_a_bare_ingestor_checks_nothing(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": None,
        "chain": None,
        "inbox_backlog": None,
        "conditions": {},
    }


def test_split_json_array_keeps_nested_arrays_and_unicode_intact():
    body = '[[1, [2]], {"a": "é]"}, "x,y"]'.encode()
    assert split_json_array(body) == [b"[1, [2]]", '{"a": "é]"}'.encode(), b'"x,y"']
    with pytest.raises(MalformedBatch):
        split_json_array(b"[NaN")
