"""Who may call what, as one table: each route of the member node's API against each state
a bearer token can be in. A refused request changes nothing; every request that gets as far
as a principal is in the access trail exactly once, and no other is."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from api.store.tokens import TokenStore
from api.store.trail import TrailStore
from ledger_client.db import make_engine
from ledger_client.epcis.validation import Validator
from ledger_client.indexer.read_model import create_read_model
from ledger_client.roles import Role
from tests.api.api_factories import ApiDatabases, Members
from tests.api.capture_factories import OFFICIAL_SCHEMA, CaptureNode, capture_node

pytestmark = pytest.mark.integration

CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
DOCUMENT = {
    "@context": [CONTEXT],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2026-01-01T00:00:00Z",
    "epcisBody": {
        "eventList": [
            {
                "type": "ObjectEvent",
                "eventTime": "2026-01-01T00:00:00Z",
                "eventTimeZoneOffset": "+00:00",
                "action": "ADD",
                "bizStep": "commissioning",
                "epcList": ["https://id.gs1.org/01/09506000134352/21/MATRIX-1"],
            }
        ]
    },
}

# route name: (method, path, the role it needs, the account of the organization asking)
ROUTES = {
    "capture": ("POST", "/api/v1/capture", Role.OPERATOR, "operator"),
    "events": ("GET", "/api/v1/events", Role.AUDITOR, "auditor"),
    "trail": ("GET", "/api/v1/trail", Role.AUDITOR, "auditor"),
    "me": ("GET", "/api/v1/me", Role.QUALITY, "quality"),
}
ALLOWED = {"capture": 202, "events": 200, "trail": 200, "me": 200}


@pytest.fixture
def node(members: Members, tmp_path: Path) -> Iterator[CaptureNode]:
    databases = ApiDatabases("sqlite", tmp_path, None)
    read_model = make_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
    create_read_model(read_model)
    yield capture_node(
        members,
        api_engine=databases.engine(),
        read_model=read_model,
        validator=Validator(official_schema_dir=OFFICIAL_SCHEMA),
    )
    read_model.dispose()
    databases.close()


def _account(node: CaptureNode, who: str):  # noqa: ANN202 - a LocalAccount
    c = node.members.consortium
    return {"operator": c.operator, "auditor": node.members.auditor, "quality": c.quality}[who]


def _issue(node: CaptureNode, who: str, role: Role) -> str:
    return (
        TokenStore(node.jobs.engine)
        .issue(
            organization=node.members.did(_account(node, who)),
            role=role,
            chain_id=node.members.consortium.deployment.chain_id,
        )
        .token
    )


def _valid(node, who, role):  # noqa: ANN001, ANN202
    return _issue(node, who, role)


def _expired(node, who, role):  # noqa: ANN001, ANN202
    past = datetime.now(UTC) - timedelta(days=2)
    earlier = TokenStore(node.jobs.engine, clock=lambda: past)
    return earlier.issue(
        organization=node.members.did(_account(node, who)),
        role=role,
        chain_id=node.members.consortium.deployment.chain_id,
        expires_at=past + timedelta(hours=1),
    ).token


def _revoked(node, who, role):  # noqa: ANN001, ANN202
    store = TokenStore(node.jobs.engine)
    issued = store.issue(
        organization=node.members.did(_account(node, who)),
        role=role,
        chain_id=node.members.consortium.deployment.chain_id,
    )
    store.revoke(issued.record.id)
    return issued.token


def _deactivated(node, who, role):  # noqa: ANN001, ANN202
    token = _issue(node, who, role)
    node.members.consortium.membership().set_organization_active(_account(node, who).address, False)
    return token


def _role_lost(node, who, role):  # noqa: ANN001, ANN202
    token = _issue(node, who, role)
    node.members.consortium.membership().revoke_role(role, _account(node, who).address)
    return token


def _wrong_role(node, who, role):  # noqa: ANN001, ANN202
    # An auditor's token at the operator's route, an operator's at the others'.
    other = (Role.AUDITOR, "auditor") if role is Role.OPERATOR else (Role.OPERATOR, "operator")
    return _issue(node, other[1], other[0])


# state: (token maker (None: no token), expected status (None: the route's own), trailed)
STATES: dict[str, tuple[Callable | None, int | None, bool]] = {
    "valid": (_valid, None, True),
    "no token": (None, 401, False),
    "unknown": (lambda *_: "plt_0123456789abcdef_" + "A" * 43, 401, False),
    "expired": (_expired, 401, False),
    "revoked": (_revoked, 401, False),
    "organization deactivated": (_deactivated, 403, False),
    "role lost on chain": (_role_lost, 403, False),
    "wrong role": (_wrong_role, 403, True),
}


# Every role may ask who it is and query events: those routes have no wrong role.
OPEN_TO_EVERY_ROLE = {"me", "events"}
CASES = [
    (r, s) for r in ROUTES for s in STATES if not (r in OPEN_TO_EVERY_ROLE and s == "wrong role")
]


@pytest.mark.parametrize(("route", "state"), CASES, ids=[f"{r}-{s}" for r, s in CASES])
def test_each_route_against_each_token_state(node: CaptureNode, route: str, state: str):
    method, path, role, who = ROUTES[route]
    make, expected, trailed = STATES[state]
    headers = {} if make is None else {"Authorization": f"Bearer {make(node, who, role)}"}
    trail = TrailStore(node.jobs.engine)
    block = node.members.consortium.w3.eth.block_number
    if method == "POST":
        headers["Content-Type"] = "application/ld+json"
        response = node.client.post(path, content=json.dumps(DOCUMENT), headers=headers)
    else:
        response = node.client.get(path, headers=headers)

    assert response.status_code == (expected or ALLOWED[route]), response.text
    assert [e.entry.path for e in trail.entries()] == ([path] if trailed else [])
    if response.status_code >= 400:
        assert _jobs(node.jobs.engine) == 0
        assert node.members.consortium.w3.eth.block_number == block


def _jobs(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM capture_job")).scalar_one()
