"""A running node (`provenance bridge run`) writes its quality users' acknowledgement and
release with the organization's key, and lists the quarantine `provenance index` read."""

from __future__ import annotations

import pytest

from ledger_client.ledger import BatchStatus
from provenance.cli import app
from tests.factories import quarantine_by_rule
from tests.provenance.node_process import bridge_run, issue_token, node_environment, runner

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/NODE-EXC"


def test_the_node_acknowledges_and_releases_as_its_organization(members, anvil, tmp_path):
    consortium = members.consortium
    lot = quarantine_by_rule(consortium, LOT)
    env = node_environment(
        consortium,
        rpc_url=anvil.rpc_url,
        state_dir=tmp_path / "state",
        organization=consortium.quality,
    )
    token = issue_token(env, organization=members.did(consortium.quality), role="quality")
    batch = "0x" + lot.hex()
    with bridge_run(env, cwd=tmp_path) as node:
        status, body = node.call(f"/api/v1/batches/{batch}/release", token, {"reason": "ok"})
        assert (
            status == 409 and body["detail"]["error"] == "ProvenanceLedgerExcursionNotAcknowledged"
        )
        status, _ = node.call(
            f"/api/v1/quarantines/{batch}/acknowledge", token, {"comment": "seen"}
        )
        assert status == 200
        status, _ = node.call(f"/api/v1/batches/{batch}/release", token, {"reason": "ok"})
        assert status == 200
        assert consortium.writer().batch(lot).status is BatchStatus.RELEASED
        indexed = runner.invoke(app, ["index", "rebuild"], env=env)
        assert indexed.exit_code == 0, indexed.output
        status, page = node.call("/api/v1/quarantines", token)
        assert status == 200
        (listed,) = page["quarantines"]
        assert (listed["state"], listed["acknowledgements"][0]["comment"]) == ("closed", "seen")
