"""The whole excursion over HTTP on a real anvil: a logger's signed readings posted to the
node break the vaccine rule, the bridge submits them and ColdChainCompliance quarantines the
lot; quality's release is refused until it acknowledged the excursion, then goes through,
and `GET /api/v1/quarantines` shows the closed quarantine with the rule's evidence."""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.app import create_app
from api.principals import chain_standing
from api.quality import QualityDesk
from api.store.tokens import TokenStore
from ledger_client.db import make_engine
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.quarantines import ReadModelQuarantines
from ledger_client.indexer.read_model import create_read_model
from ledger_client.ledger import BatchStatus
from ledger_client.roles import Role
from oracle_bridge.config import BridgeSettings
from oracle_bridge.device import ReadingProfile
from oracle_bridge.readings import to_json
from tests.factories import ANVIL_KEYS, VACCINE_RULE
from tests.oracle_bridge.runtime.bridge_runtime_factories import ColdChain

pytestmark = pytest.mark.integration

LOT = DigitalLink.lot("09506000134352", "FLOW-1")


def test_readings_breach_then_acknowledge_then_release_over_http(members, api_engine, tmp_path):
    c = members.consortium
    c.writer().create_batch(LOT.uri, product_class=LOT.product_class)
    c.set_rule(LOT.product_class, VACCINE_RULE)
    cold_chain = ColdChain(c, Account.from_key(ANVIL_KEYS[4]))
    logger = cold_chain.device(LOT.batch_id)
    bridge = cold_chain.bridge(
        make_engine(f"sqlite:///{tmp_path / 'bridge.db'}"),
        settings=BridgeSettings(window_max_age_s=0),
    )
    read_model = make_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
    create_read_model(read_model)
    tokens = TokenStore(api_engine)
    client = TestClient(
        create_app(
            bridge,
            tokens=tokens,
            standing=chain_standing(c.w3, c.deployment),
            quarantine_records=ReadModelQuarantines(read_model),
            quality_desk=QualityDesk(
                writer=c.writer(c.quality),
                account=c.quality.address,
                chain_id=c.deployment.chain_id,
            ),
        )
    )
    chain_id = c.deployment.chain_id
    quality = {
        "Authorization": "Bearer "
        + tokens.issue(
            organization=members.did(c.quality), role=Role.QUALITY, chain_id=chain_id
        ).token
    }
    try:
        # 25 min at 11.5 °C: longer than the rule's 15 min excursion.
        readings = ReadingProfile(
            device=logger.address,
            batch_id=LOT.batch_id,
            start_timestamp=int(time.time()) - 3_600,
            interval_seconds=300,
        ).excursion(temp_milli_c=11_500, duration_seconds=25 * 60, before=4, after=2)
        body = "[" + ",".join(to_json(logger.sign(r, domain=bridge.domain)) for r in readings) + "]"
        posted = client.post("/api/v1/readings", content=body.encode())
        assert posted.status_code == 200, posted.text
        assert {item["status"] for item in posted.json()} == {"accepted"}
        bridge.run_once()
        assert c.writer().batch(LOT.batch_id).status is BatchStatus.QUARANTINED

        batch = "0x" + LOT.batch_id.hex()
        refused = client.post(
            f"/api/v1/batches/{batch}/release", json={"reason": "ok"}, headers=quality
        )
        assert refused.status_code == 409
        assert refused.json()["detail"]["error"] == "ProvenanceLedgerExcursionNotAcknowledged"
        comment = {"comment": "carton stayed sealed; product within its stability budget"}
        acknowledged = client.post(
            f"/api/v1/quarantines/{batch}/acknowledge", json=comment, headers=quality
        )
        assert acknowledged.status_code == 200, acknowledged.text
        released = client.post(
            f"/api/v1/batches/{batch}/release", json={"reason": "ok"}, headers=quality
        )
        assert released.status_code == 200, released.text
        assert c.writer().batch(LOT.batch_id).status is BatchStatus.RELEASED

        Indexer(c.w3, c.deployment, read_model).run_once()
        listed = client.get("/api/v1/quarantines", params={"batch": batch}, headers=quality)
        (quarantine,) = listed.json()["quarantines"]
        assert quarantine["state"] == "closed"
        assert quarantine["started"]["reason"] == "cold-chain: excursion too long"
        assert quarantine["rule"]["decision"] == "QUARANTINE_EXCURSION"
        assert quarantine["rule"]["device"] == logger.address
        assert [a["comment"] for a in quarantine["acknowledgements"]] == [comment["comment"]]
        assert quarantine["ended"]["status"] == "RELEASED"
    finally:
        bridge.close()
        read_model.dispose()
