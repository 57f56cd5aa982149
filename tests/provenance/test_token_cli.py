"""`provenance token issue|list|revoke` against the test anvil: a token printed once and kept
as a hash, refused for an organization without the role on chain, every bad input refused in
one line with nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.config import ApiSettings
from api.store.database import api_engine
from api.store.tokens import TokenStore
from ledger_client.config import LedgerSettings
from provenance.cli import app

pytestmark = pytest.mark.integration

runner = CliRunner()


@pytest.fixture
def env(members, anvil, tmp_path: Path) -> dict[str, str]:
    state_dir = tmp_path / "state"
    members.consortium.deployment.save(state_dir / "deployment.json")
    return {"PROVENANCE_RPC_URL": anvil.rpc_url, "PROVENANCE_STATE_DIR": str(state_dir)}


def _stored(env: dict[str, str]) -> TokenStore:
    ledger = LedgerSettings(state_dir=Path(env["PROVENANCE_STATE_DIR"]))
    return TokenStore(api_engine(ApiSettings(ledger=ledger)))


def assert_refused(result, *fragments: str) -> None:  # noqa: ANN001 - click's Result
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: "), result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_issue_list_revoke(members, env):
    did = members.did(members.auditor)
    issued = runner.invoke(app, ["token", "issue", "--org", did, "--role", "auditor"], env=env)
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip().splitlines()[-1]
    assert token.startswith("plt_")
    (record,) = _stored(env).all()
    assert _stored(env).find(token) == record
    listed = runner.invoke(app, ["token", "list", "--json"], env=env)
    assert json.loads(listed.stdout) == [
        {
            "id": record.id,
            "organization": did,
            "role": "AUDITOR",
            "state": "active",
            "issued_at": record.issued_at.isoformat(),
            "expires_at": None,
            "revoked_at": None,
        }
    ]
    assert token not in listed.stdout
    assert runner.invoke(app, ["token", "revoke", record.id], env=env).exit_code == 0
    assert (
        json.loads(runner.invoke(app, ["token", "list", "--json"], env=env).stdout)[0]["state"]
        == "revoked"
    )
    assert_refused(runner.invoke(app, ["token", "revoke", record.id], env=env), "revoked already")


def test_issue_as_json_gives_the_token_and_its_record(members, env):
    did = members.did(members.auditor)
    issued = runner.invoke(
        app, ["token", "issue", "--org", did, "--role", "auditor", "--json"], env=env
    )
    assert issued.exit_code == 0, issued.output
    document = json.loads(issued.stdout)
    (record,) = _stored(env).all()
    assert _stored(env).find(document["token"]) == record
    assert document["id"] == record.id
    assert (document["organization"], document["role"], document["state"]) == (
        did,
        "AUDITOR",
        "active",
    )


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--role", "janitor"], ["unknown role 'janitor'"]),
        (["--role", "governor"], ["not GOVERNOR"]),
        (["--role", "auditor", "--expires", "next week"], ["not an ISO 8601 instant"]),
        (["--role", "auditor", "--expires", "2020-01-01T00:00:00Z"], ["not in the future"]),
        (["--role", "auditor", "--expires", "2099-01-01T00:00:00"], ["needs a time zone"]),
        (["--role", "operator"], ["no token issued", "does not hold OPERATOR on chain"]),
    ],
)
def test_bad_issues_are_refused_and_store_nothing(members, env, args, fragments):
    did = members.did(members.auditor)
    result = runner.invoke(app, ["token", "issue", "--org", did, *args], env=env)
    assert_refused(result, *fragments)
    assert _stored(env).all() == []


def test_a_deactivated_or_unknown_organization_gets_no_token(members, env):
    consortium = members.consortium
    consortium.membership().set_organization_active(members.auditor.address, False)
    did = members.did(members.auditor)
    result = runner.invoke(app, ["token", "issue", "--org", did, "--role", "auditor"], env=env)
    assert_refused(result, "deactivated on chain")
    result = runner.invoke(
        app, ["token", "issue", "--org", "did:web:example.org", "--role", "auditor"], env=env
    )
    assert_refused(result, "not an accepted DID")
    assert _stored(env).all() == []


def test_revoking_an_unknown_token_is_refused(env):
    assert_refused(runner.invoke(app, ["token", "revoke", "nope"], env=env), "no token 'nope'")
