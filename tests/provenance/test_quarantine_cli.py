"""`provenance lot acknowledge` and `lot release` against the test anvil: a cold-chain
quarantine released only after quality acknowledged it; every refusal one line, nothing
changed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner

from ledger_client.ledger import BatchStatus
from ledger_client.lifecycle import ExcursionHold
from provenance.cli import app
from tests.factories import Consortium, quarantine_by_rule

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/CLI-EXC"
runner = CliRunner()


@dataclass
class Quality:
    consortium: Consortium
    env: dict[str, str]
    lot: bytes

    def invoke(self, *args: str, signer: LocalAccount | None = None):  # noqa: ANN201 - click's Result
        account = signer or self.consortium.quality
        env = {**self.env, "PROVENANCE_PRIVATE_KEY": "0x" + bytes(account.key).hex()}
        return runner.invoke(app, ["lot", *args], env=env)

    def held(self) -> tuple[BatchStatus, ExcursionHold]:
        ledger = self.consortium.writer()
        return ledger.batch(self.lot).status, ledger.excursion_hold(self.lot)


@pytest.fixture
def quality(consortium: Consortium, anvil, tmp_path: Path) -> Quality:
    state_dir = tmp_path / "state"
    consortium.deployment.save(state_dir / "deployment.json")
    lot = quarantine_by_rule(consortium, LOT)
    env = {"PROVENANCE_RPC_URL": anvil.rpc_url, "PROVENANCE_STATE_DIR": str(state_dir)}
    return Quality(consortium, env, lot)


def assert_refused(result, *fragments: str) -> None:  # noqa: ANN001 - click's Result
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: "), result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_release_waits_for_the_acknowledgement(quality):
    refused = quality.invoke("release", LOT, "--reason", "lab cleared")
    assert_refused(refused, "ProvenanceLedgerExcursionNotAcknowledged")
    assert quality.held() == (BatchStatus.QUARANTINED, ExcursionHold.UNACKNOWLEDGED)

    acknowledged = quality.invoke("acknowledge", LOT, "--comment", "logger fault")
    assert acknowledged.exit_code == 0, acknowledged.output
    assert re.search(r"^acknowledged +logger fault$", acknowledged.stdout, re.M)
    released = quality.invoke("release", "0x" + quality.lot.hex(), "--reason", "ok", "--json")
    assert released.exit_code == 0, released.output
    document = json.loads(released.stdout)
    assert (document["status"], document["reason"]) == ("RELEASED", "ok")
    assert document["transaction"].startswith("0x")
    assert quality.held() == (BatchStatus.RELEASED, ExcursionHold.NONE)


@pytest.mark.parametrize(
    ("args", "operator", "fragments"),
    [
        (("acknowledge", LOT, "--comment", "  "), False, ("--comment is blank",)),
        (("release", LOT, "--reason", ""), False, ("--reason is blank",)),
        (("acknowledge", LOT), False, ("--comment",)),
        (("acknowledge", LOT, "--comment", "seen"), True, ("QUALITY_ROLE",)),
        (("acknowledge", "no-such-lot", "--comment", "seen"), False, ("no-such-lot",)),
        (
            ("acknowledge", "0x" + "ab" * 32, "--comment", "seen"),
            False,
            ("ProvenanceLedgerUnknownBatch",),
        ),
    ],
    ids=["blank comment", "blank reason", "no comment", "an operator", "not a lot", "unknown"],
)
def test_refusals_are_one_line_and_change_nothing(quality, args, operator, fragments):
    signer = quality.consortium.operator if operator else None
    assert_refused(quality.invoke(*args, signer=signer), *fragments)
    assert quality.held() == (BatchStatus.QUARANTINED, ExcursionHold.UNACKNOWLEDGED)
