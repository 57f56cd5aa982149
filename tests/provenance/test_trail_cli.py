"""`provenance trail anchor|verify` against the test anvil with the organization's key: the
head anchored, verified, and a row edited, deleted or moved in the trail's table named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.config import ApiSettings
from api.store.database import api_engine
from api.store.trail import TrailStore
from api.trail import TrailEntry
from ledger_client.config import LedgerSettings
from provenance.cli import app

pytestmark = pytest.mark.integration

runner = CliRunner()


@pytest.fixture
def env(members, anvil, tmp_path: Path) -> dict[str, str]:
    """The operator's node: its key, its state directory, a trail of four entries."""
    state_dir = tmp_path / "state"
    operator = members.consortium.operator
    members.consortium.deployment.save(state_dir / "deployment.json")
    store = _trail(state_dir)
    for n in range(1, 5):
        store.append(
            TrailEntry(
                seq=0,
                at=f"2026-01-01T00:00:0{n}.000000Z",
                principal="0123456789abcdef",
                organization=members.did(members.auditor),
                role="AUDITOR",
                method="GET",
                path="/api/v1/me",
                query="",
                status=200,
            )
        )
    return {
        "PROVENANCE_RPC_URL": anvil.rpc_url,
        "PROVENANCE_STATE_DIR": str(state_dir),
        "PROVENANCE_PRIVATE_KEY": "0x" + bytes(operator.key).hex(),
    }


def _trail(state_dir: Path) -> TrailStore:
    return TrailStore(api_engine(ApiSettings(ledger=LedgerSettings(state_dir=state_dir))))


def _tamper(env: dict[str, str], *statements: str) -> None:
    with _trail(Path(env["PROVENANCE_STATE_DIR"])).engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def _refused(result, fragment: str) -> None:  # noqa: ANN001 - click's Result
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and fragment in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr


def test_anchor_then_verify(env):
    anchored = runner.invoke(app, ["trail", "anchor"], env=env)
    assert anchored.exit_code == 0, anchored.output
    assert "anchored 4 entries" in anchored.stdout
    again = runner.invoke(app, ["trail", "anchor"], env=env)
    assert "nothing new to anchor" in again.stdout
    as_json = json.loads(runner.invoke(app, ["trail", "anchor", "--json"], env=env).stdout)
    assert as_json["entries"] == 4 and as_json["tx"] is None and as_json["head"]
    verified = runner.invoke(app, ["trail", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    assert "4 entries, 1 anchored heads match" in verified.stdout
    as_json = runner.invoke(app, ["trail", "verify", "--json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == {
        "intact": True,
        "entries": 4,
        "anchors": 1,
        "problem": None,
    }


@pytest.mark.parametrize(
    ("statements", "fragment"),
    [
        (["UPDATE access_trail SET path = '/elsewhere' WHERE seq = 2"], "entry 2 was edited"),
        (["DELETE FROM access_trail WHERE seq = 3"], "entry 3 is missing"),
        (["DELETE FROM access_trail WHERE seq = 4"], "entries 4… were deleted"),
        (
            [
                "UPDATE access_trail SET seq = 100 WHERE seq = 1",
                "UPDATE access_trail SET seq = 1 WHERE seq = 2",
                "UPDATE access_trail SET seq = 2 WHERE seq = 100",
            ],
            "entry 1 does not start the trail",
        ),
    ],
    ids=["edited", "deleted", "tail deleted", "reordered"],
)
def test_verify_names_the_first_bad_entry(env, statements, fragment):
    assert runner.invoke(app, ["trail", "anchor"], env=env).exit_code == 0
    _tamper(env, *statements)
    _refused(runner.invoke(app, ["trail", "verify"], env=env), fragment)
    as_json = runner.invoke(app, ["trail", "verify", "--json"], env=env)
    assert as_json.exit_code == 1
    verdict = json.loads(as_json.stdout)
    assert verdict["intact"] is False and fragment in verdict["problem"], verdict
    _refused(runner.invoke(app, ["trail", "anchor"], env=env), "was not anchored")


def test_an_organization_that_is_no_member_cannot_anchor(env, members):
    outsider = members.consortium.outsider
    env = {**env, "PROVENANCE_PRIVATE_KEY": "0x" + bytes(outsider.key).hex()}
    _refused(runner.invoke(app, ["trail", "anchor"], env=env), "no active organization")
