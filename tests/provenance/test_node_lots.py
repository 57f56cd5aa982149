"""A running node (`provenance bridge run`) serves the read model's lots and its bridge's
readings: a trace and a batch over HTTP with a bearer token, 401 without, 404 for a reading
its bridge does not hold."""

from __future__ import annotations

import pytest

from ledger_client.db import make_engine
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import create_read_model
from tests.ledger_client.indexer.indexer_factories import record
from tests.ledger_client.indexer.trace_factories import (
    EPCIS_ONLY_EVENTS,
    PALLET,
    PALLET_URN,
    SN1,
    SN2,
    A,
    B,
    C,
    D,
)
from tests.provenance.node_process import bridge_run, issue_token, node_environment

pytestmark = pytest.mark.integration

DEVICE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def test_the_node_serves_traces_batches_and_readings(members, anvil, tmp_path):
    consortium = members.consortium
    writer = consortium.writer()
    record(writer, writer.create_batch(D), EPCIS_ONLY_EVENTS)
    state_dir = tmp_path / "state"
    env = node_environment(
        consortium, rpc_url=anvil.rpc_url, state_dir=state_dir, organization=consortium.operator
    )
    read_model = make_engine(f"sqlite:///{state_dir / 'read_model.db'}")
    create_read_model(read_model)
    Indexer(consortium.w3, consortium.deployment, read_model).run_once()
    read_model.dispose()
    token = issue_token(env, organization=members.did(members.auditor), role="auditor")
    with bridge_run(env, cwd=tmp_path) as node:
        assert node.call(f"/api/v1/trace/{PALLET_URN}")[0] == 401
        status, trace = node.call(f"/api/v1/trace/{PALLET_URN}", token)
        assert status == 200, trace
        assert {n["uri"] for n in trace["nodes"]} == {PALLET, SN1, SN2, C, A, B}
        status, batch = node.call(f"/api/v1/batches/{D}", token)
        assert status == 200, batch
        assert (batch["uri"], batch["readings"]) == (D, [])
        status, proof = node.call(f"/api/v1/readings/{DEVICE}/1/proof", token)
        assert status == 404 and "no reading 1" in proof["detail"]
