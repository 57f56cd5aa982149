"""`GET /metrics`: requests by route template and status with their latencies, the node's
figures through its port, one registry per app; and an app without a bridge takes no
readings."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.metrics import NodeSnapshot
from tests.oracle_bridge.ingress.ingress_fakes import DOMAIN, FakeIngestor

pytestmark = pytest.mark.unit


def samples(client: TestClient) -> dict[tuple[str, frozenset], float]:
    """Every sample of the client's `/metrics`, by name and labels."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def requests_of(client: TestClient) -> dict[tuple[str, str, str], float]:
    """The request counts other than those of `/metrics` itself, by (method, route, status)."""
    return {
        (labels["method"], labels["route"], labels["status"]): value
        for (name, frozen), value in samples(client).items()
        if name == "provenance_http_requests_total"
        for labels in [dict(frozen)]
        if labels["route"] != "/metrics"
    }


@dataclass
class FakeNode:
    snapshot_now: NodeSnapshot

    def snapshot(self) -> NodeSnapshot:
        return self.snapshot_now


def lot_app(**kwargs: object) -> TestClient:
    app = create_app(**kwargs)  # type: ignore[arg-type]

    @app.get("/lots/{lot}", tags=["lots"])
    def lot(lot: str) -> dict[str, str]:
        if lot == "missing":
            raise HTTPException(404, "no such lot")
        if lot == "broken":
            raise RuntimeError("a bug")
        return {"lot": lot}

    return TestClient(app, raise_server_exceptions=False)


def test_requests_are_counted_by_route_template_method_and_status():
    client = lot_app()
    for path in ("/lots/A-1", "/lots/B-2", "/lots/missing", "/healthz", "/no/such/path"):
        client.get(path)
    client.post("/healthz")
    assert requests_of(client) == {
        ("GET", "/lots/{lot}", "200"): 2,
        ("GET", "/lots/{lot}", "404"): 1,
        ("GET", "/healthz", "200"): 1,
        ("POST", "/healthz", "405"): 1,
        ("GET", "unmatched", "404"): 1,
    }


def test_a_failing_handler_counts_as_500():
    client = lot_app()
    assert client.get("/lots/broken").status_code == 500
    assert requests_of(client) == {("GET", "/lots/{lot}", "500"): 1}


def test_latency_is_a_histogram_per_route():
    client = lot_app()
    for _ in range(3):
        client.get("/lots/A-1")
    found = samples(client)
    route = frozenset({("method", "GET"), ("route", "/lots/{lot}")})
    assert found[("provenance_http_request_duration_seconds_count", route)] == 3
    assert found[("provenance_http_request_duration_seconds_sum", route)] > 0
    infinite = frozenset({*route, ("le", "+Inf")})
    assert found[("provenance_http_request_duration_seconds_bucket", infinite)] == 3


def test_each_app_counts_its_own_requests():
    first, second = lot_app(), lot_app()
    first.get("/lots/A-1")
    assert requests_of(first) == {("GET", "/lots/{lot}", "200"): 1}
    assert requests_of(second) == {}


def test_the_node_figures_are_read_at_each_scrape():
    node = FakeNode(
        NodeSnapshot(
            readings_accepted=12,
            readings_dead_lettered=2,
            readings_anchored=10,
            inbox_backlog=1,
            indexer_lag_blocks=3,
        )
    )
    client = lot_app(node_status=node)
    figures = {name: value for (name, labels), value in samples(client).items() if not labels}
    assert {name: figures[name] for name in figures if not name.endswith("_created")} == {
        "provenance_readings_accepted_total": 12,
        "provenance_readings_dead_lettered_total": 2,
        "provenance_readings_anchored_total": 10,
        "provenance_inbox_backlog": 1,
        "provenance_indexer_lag_blocks": 3,
    }
    node.snapshot_now = NodeSnapshot(readings_accepted=13, indexer_lag_blocks=0)
    figures = {name: value for (name, labels), value in samples(client).items() if not labels}
    assert figures == {"provenance_readings_accepted_total": 13, "provenance_indexer_lag_blocks": 0}


def test_an_app_without_a_node_reports_only_its_requests():
    client = lot_app()
    client.get("/healthz")
    names = {name for name, _ in samples(client)}
    assert names and all(name.startswith("provenance_http_") for name in names)


def test_an_app_without_a_bridge_takes_no_readings():
    bare = TestClient(create_app())
    assert bare.post("/api/v1/readings", content=b"[]").status_code == 404
    assert "/api/v1/readings" not in bare.get("/openapi.json").json()["paths"]
    assert bare.get("/healthz").json()["status"] == "ok"
    assert bare.app.state.embedded_dev_chain is False  # type: ignore[attr-defined]
    taking = TestClient(create_app(FakeIngestor(domain=DOMAIN), embedded_dev_chain=True))
    assert taking.post("/api/v1/readings", content=b"[]").status_code == 200
    assert taking.app.state.embedded_dev_chain is True  # type: ignore[attr-defined]
