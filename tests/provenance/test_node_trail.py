"""A running node (`provenance bridge run`) honours bearer tokens, records each
authenticated request in the access trail and anchors the trail on its schedule with the
organization's key; `provenance trail verify` then finds it intact."""

from __future__ import annotations

import pytest

from ledger_client.access_trail import AccessTrailClient
from provenance.cli import app
from tests.provenance.node_process import (
    bridge_run,
    issue_token,
    node_environment,
    runner,
    wait_for,
)

pytestmark = pytest.mark.integration


def test_the_node_records_and_anchors_its_trail(members, anvil, tmp_path):
    consortium = members.consortium
    env = node_environment(
        consortium,
        rpc_url=anvil.rpc_url,
        state_dir=tmp_path / "state",
        organization=consortium.operator,
        trail_anchor_interval_s="0.5",
    )
    token = issue_token(env, organization=members.did(members.auditor), role="auditor")
    with bridge_run(env, cwd=tmp_path) as node:
        assert node.call("/api/v1/me")[0] == 401
        assert node.call("/api/v1/me", token)[0] == 200
        assert node.call("/api/v1/trail", token)[0] == 200
        trail = AccessTrailClient(consortium.sender(consortium.operator), consortium.deployment)
        wait_for(lambda: trail.latest(consortium.operator.address)[1] == 2, "the scheduled anchor")
    verified = runner.invoke(app, ["trail", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    assert "2 entries" in verified.stdout
