"""A member node's API with EPCIS capture and query on a consortium's chain: the operator's
node (its key writes), bearer tokens of the registered members, a read model the test
indexes explicitly."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.capture import CaptureDesk, CaptureLimits
from api.principals import chain_standing
from api.store.capture_jobs import CaptureJobStore
from api.store.tokens import TokenStore
from api.store.trail import TrailStore
from ledger_client.capture import Capturer
from ledger_client.epcis.validation import Validator
from ledger_client.epcis_query.archive import EventArchive
from ledger_client.indexer.indexer import Indexer
from ledger_client.roles import Role
from tests.api.api_factories import Members
from tests.factories import SHARED
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

OFFICIAL_SCHEMA = SHARED / "conformance" / "epcis" / "schema"


@dataclass
class CaptureNode:
    client: TestClient
    indexer: Indexer
    read_model: Engine
    jobs: CaptureJobStore
    members: Members
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def capture(self, document: Any, *, who: str = "operator") -> dict[str, Any]:
        """POST the document (as JSON-LD), index what it anchored; the finished job."""
        answer = self.client.post(
            "/api/v1/capture",
            content=json.dumps(document),
            headers={**self.headers(who), "Content-Type": "application/ld+json"},
        )
        assert answer.status_code == 202, answer.text
        job = self.client.get(answer.headers["Location"], headers=self.headers(who)).json()
        self.indexer.run_once()
        return job

    def events(self, **params: str) -> list[dict[str, Any]]:
        """Every event `GET /events` gives for `params`, following `Link` to the end."""
        url, found = "/api/v1/events", []
        query: dict[str, str] | None = params
        while True:
            answer = self.client.get(url, params=query, headers=self.headers("auditor"))
            assert answer.status_code == 200, answer.text
            found += answer.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            if "link" not in answer.headers:
                return found
            url, query = answer.headers["link"].split(">")[0].lstrip("<"), None


def capture_node(
    members: Members,
    *,
    api_engine: Engine,
    read_model: Engine,
    validator: Validator,
    limits: CaptureLimits | None = None,
    dev_prefixes: bool = True,
) -> CaptureNode:
    c = members.consortium
    writer = c.writer()
    capturer = Capturer(writer, prefix_governor=c.writer(c.governor) if dev_prefixes else None)
    jobs = CaptureJobStore(api_engine)
    store = TokenStore(api_engine)
    chain_id = c.deployment.chain_id
    tokens = {
        who: store.issue(organization=members.did(account), role=role, chain_id=chain_id).token
        for who, account, role in (
            ("operator", c.operator, Role.OPERATOR),
            ("auditor", members.auditor, Role.AUDITOR),
            ("quality", c.quality, Role.QUALITY),
        )
    }
    app = create_app(
        FakeIngestor(),
        tokens=store,
        standing=chain_standing(c.w3, c.deployment),
        capture_desk=CaptureDesk(capturer=capturer, jobs=jobs, validator=validator, limits=limits),
        event_archive=EventArchive(read_model, c.w3, c.deployment),
        trail_store=TrailStore(api_engine),
    )
    return CaptureNode(
        client=TestClient(app),
        indexer=Indexer(c.w3, c.deployment, read_model),
        read_model=read_model,
        jobs=jobs,
        members=members,
        tokens=tokens,
    )
