"""`provenance credential …` against the test anvil: issue, list, verify, revoke, keygen, and
their one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner

from credentials.assets import commission
from credentials.keystore import PASSPHRASE_VARIABLE, load_key, store_key
from credentials.registry import CredentialRegistryClient, CredentialStatus
from ledger_client.db import make_engine
from ledger_client.identifiers import DigitalLink
from ledger_client.roles import Role
from oracle_bridge.config import BridgeSettings
from oracle_bridge.readings import Reading, to_json
from oracle_bridge.rules import Rule
from provenance.cli import app
from tests.credentials.credential_factories import CHECK_NAMES
from tests.factories import ANVIL_KEYS, Consortium
from tests.oracle_bridge.runtime.bridge_runtime_factories import ColdChain

pytestmark = pytest.mark.integration

PASSPHRASE = "credential cli passphrase 2026"
LOT = DigitalLink.lot("09506000134352", "CLI-1")
# 2-8 °C, hard limits -5/25 °C, 10 min excursions, 1 h data gaps
RULE = Rule(2000, 8000, -5000, 25000, 600, 3600)

runner = CliRunner()


@dataclass
class Ledger:
    """Fresh contracts, a state directory pointing at them, a trusted FitForUse issuer with
    its keystore, and a commissioned lot with its bound did:key."""

    consortium: Consortium
    state_dir: Path
    env: dict[str, str]
    issuer_key: Path
    issuer_did: str
    lot_did: str
    claims: Path

    def invoke(self, *args: str, **env: str):  # noqa: ANN201 - click's Result
        return runner.invoke(app, ["credential", *args], env={**self.env, **env})

    def issue_fit_for_use(  # noqa: ANN201 - click's Result
        self, *extra: str, claims: Path | None = None, key: Path | None = None, **env: str
    ):
        """`credential issue FitForUse` about the lot: the sample claims and the trusted
        issuer's keystore unless told otherwise; the outcome is the caller's to judge."""
        return self.invoke(
            "issue",
            "FitForUse",
            "--subject",
            self.lot_did,
            "--claims",
            str(claims or self.claims),
            "--key",
            str(key or self.issuer_key),
            *extra,
            **env,
        )

    def issue(self, out: Path, *extra: str):  # noqa: ANN201 - click's Result
        result = self.issue_fit_for_use("--out", str(out), *extra)
        assert result.exit_code == 0, result.output
        return result


@pytest.fixture
def ledger(consortium: Consortium, anvil, tmp_path: Path) -> Ledger:
    c = consortium
    state_dir = tmp_path / "state"
    c.deployment.save(state_dir / "deployment.json")
    issuer = Account.from_key(ANVIL_KEYS[4])
    c.membership().grant_role(Role.ISSUER, issuer.address)
    CredentialRegistryClient(c.sender(c.governor), c.deployment).set_trusted(
        issuer.address, "FitForUse", True
    )
    issuer_key = store_key(tmp_path / "issuer.json", issuer.key, passphrase=PASSPHRASE)
    asset = commission(
        writer=c.writer(),
        registry=CredentialRegistryClient(c.sender(c.operator), c.deployment),
        link=LOT,
        keystore_dir=tmp_path / "assets",
        passphrase=PASSPHRASE,
    )
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps({"lot": LOT.uri}))
    env = {
        "PROVENANCE_RPC_URL": anvil.rpc_url,
        "PROVENANCE_STATE_DIR": str(state_dir),
        PASSPHRASE_VARIABLE: PASSPHRASE,
    }
    return Ledger(
        c,
        state_dir,
        env,
        issuer_key,
        f"did:pkh:eip155:31337:{issuer.address}",
        asset.did,
        claims,
    )


def outcomes(document: dict) -> dict[str, str]:
    return {check["name"]: check["outcome"] for check in document["checks"]}


def test_issue_list_verify_revoke_verify(ledger, tmp_path):
    vc_file = tmp_path / "fit.json"

    issued = ledger.issue(vc_file)
    vc = json.loads(vc_file.read_text())
    assert vc["type"] == ["VerifiableCredential", "FitForUse"]
    assert vc["issuer"] == ledger.issuer_did
    assert vc["credentialSubject"] == {"id": ledger.lot_did, "lot": LOT.uri}
    assert "issued    FitForUse" in issued.stdout and "anchored  in transaction 0x" in issued.stdout
    assert f"subject   {ledger.lot_did}" in issued.stdout  # no emoji for ":key:"

    listed = ledger.invoke("list", "--json")
    assert listed.exit_code == 0, listed.output
    (entry,) = json.loads(listed.stdout)
    assert entry["credential"] == vc
    assert (entry["type"], entry["subject"], entry["issuer"]) == (
        "FitForUse",
        ledger.lot_did,
        ledger.issuer_did,
    )
    assert entry["anchorTransaction"].startswith("0x")
    digest = entry["credentialHash"]
    human = ledger.invoke("list")
    assert human.exit_code == 0 and "1 credential in the store" in human.stdout
    assert digest[:12] + "…" in human.stdout and "FitForUse" in human.stdout
    assert "did:key:" in human.stdout and "🔑" not in human.stdout
    by_subject = ledger.invoke("list", "--subject", ledger.lot_did, "--type", "FitForUse", "--json")
    assert [e["credentialHash"] for e in json.loads(by_subject.stdout)] == [digest]
    other_type = ledger.invoke("list", "--type", "CalibrationCertificate", "--json")
    assert json.loads(other_type.stdout) == []

    verified = ledger.invoke("verify", str(vc_file))
    assert verified.exit_code == 0, verified.output
    assert "valid: every check passed" in verified.stdout
    assert all(name in verified.stdout for name in CHECK_NAMES)
    as_json = ledger.invoke("verify", str(vc_file), "--json")
    assert as_json.exit_code == 0
    report = json.loads(as_json.stdout)
    assert report["valid"] is True and report["credentialHash"] == digest
    assert outcomes(report) == dict.fromkeys(CHECK_NAMES, "passed")

    revoked = ledger.invoke(
        "revoke",
        str(vc_file),
        "--reason",
        "lot recalled",
        "--key",
        str(ledger.issuer_key),
        "--json",
    )
    assert revoked.exit_code == 0, revoked.output
    receipt = json.loads(revoked.stdout)
    assert receipt["credentialHash"] == digest and receipt["revoked"] is True
    assert receipt["transaction"].startswith("0x")

    after = ledger.invoke("verify", str(vc_file), "--json")
    assert after.exit_code == 1
    report = json.loads(after.stdout)
    assert report["valid"] is False
    assert outcomes(report) == dict.fromkeys(CHECK_NAMES, "passed") | {"not_revoked": "failed"}
    human = ledger.invoke("verify", str(vc_file))
    assert human.exit_code == 1
    assert "not valid: not_revoked did not pass" in human.stdout


def test_issue_writes_the_credential_alone_to_stdout(ledger):
    plain = ledger.issue_fit_for_use("--expires", "2099-01-01", "--suspends-with-lot", LOT.uri)
    assert plain.exit_code == 0, plain.output
    vc = json.loads(plain.stdout)
    assert vc["expirationDate"] == "2099-01-01T00:00:00Z"
    assert "issued    FitForUse" in plain.stderr

    machine = ledger.issue_fit_for_use("--json")
    assert machine.exit_code == 0, machine.output
    document = json.loads(machine.stdout)
    assert set(document) == {"credentialHash", "anchorTransaction", "out", "credential"}
    assert document["out"] is None and document["anchorTransaction"].startswith("0x")
    assert len(json.loads(ledger.invoke("list", "--json").stdout)) == 2


def test_revoke_by_hash(ledger, tmp_path):
    vc_file = tmp_path / "fit.json"
    ledger.issue(vc_file)
    (entry,) = json.loads(ledger.invoke("list", "--json").stdout)

    revoked = ledger.invoke(
        "revoke",
        entry["credentialHash"],
        "--reason",
        "issued in error",
        "--key",
        str(ledger.issuer_key),
    )
    assert revoked.exit_code == 0, revoked.output
    assert f"revoked   {entry['credentialHash']}" in revoked.stdout

    again = ledger.invoke(
        "revoke", entry["credentialHash"], "--reason", "twice", "--key", str(ledger.issuer_key)
    )
    assert again.exit_code == 1
    assert again.stderr.startswith("error: ") and "Revoked" in again.stderr


def test_a_tampered_credential_fails_verify_on_its_proof(ledger, tmp_path):
    vc_file = tmp_path / "fit.json"
    ledger.issue(vc_file)
    vc = json.loads(vc_file.read_text())
    vc["issuanceDate"] = "2020-01-01T00:00:00Z"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(vc))

    as_json = ledger.invoke("verify", str(tampered), "--json")
    assert as_json.exit_code == 1
    checks = {c["name"]: c for c in json.loads(as_json.stdout)["checks"]}
    assert checks["proof"]["outcome"] == "failed"
    assert checks["proof"]["detail"].startswith("proof does not verify")
    human = ledger.invoke("verify", str(tampered))
    assert human.exit_code == 1
    assert "not valid: proof," in human.stdout


def test_a_wrong_passphrase_is_one_clear_line_and_nothing_is_issued(ledger, tmp_path):
    result = ledger.issue_fit_for_use(
        "--out",
        str(tmp_path / "fit.json"),
        **{PASSPHRASE_VARIABLE: "not the passphrase of that file"},
    )
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith(f"error: the passphrase does not open {ledger.issuer_key}")
    assert not (tmp_path / "fit.json").exists()
    assert json.loads(ledger.invoke("list", "--json").stdout) == []


def test_a_missing_passphrase_says_which_variable_to_set(ledger, tmp_path):
    result = ledger.invoke(
        "revoke",
        "0x" + "ab" * 32,
        "--reason",
        "x",
        "--key",
        str(ledger.issuer_key),
        **{PASSPHRASE_VARIABLE: ""},
    )
    assert result.exit_code == 1
    assert f"set {PASSPHRASE_VARIABLE}" in result.stderr


def test_an_issuer_without_the_role_is_refused_by_the_chain(ledger, tmp_path):
    outsider_key = store_key(
        tmp_path / "outsider.json", ledger.consortium.outsider.key, passphrase=PASSPHRASE
    )
    result = ledger.issue_fit_for_use(key=outsider_key)
    assert result.exit_code == 1
    assert "ISSUER_ROLE" in result.stderr and "Traceback" not in result.output


ISSUE = ("issue", "--subject", "{did}", "--key", "{key}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((*ISSUE, "Diploma", "--claims", "{claims}"), "unknown credential type 'Diploma'; use"),
        (
            (*ISSUE, "FitForUse", "--claims", "{claims}", "--expires", "2099-01-01T00:00:00"),
            "--expires '2099-01-01T00:00:00': give an ISO 8601 instant with its offset",
        ),
        ((*ISSUE, "FitForUse"), "pass exactly one of --claims FILE and --shipment LOT"),
        (
            (*ISSUE, "FitForUse", "--shipment", LOT.uri),
            "--shipment gives the claims of a ColdChainComplianceCredential, not of a FitForUse",
        ),
        ((*ISSUE, "FitForUse", "--claims", "nothing.json"), "cannot read the claims file"),
        (("verify", "missing.json"), "cannot read the credential file missing.json"),
        (
            ("revoke", "neither", "--reason", "x", "--key", "{key}"),
            "neither a credential file nor a 0x hash",
        ),
    ],
)
def test_bad_input_is_one_clear_line(ledger, tmp_path, args, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    values = {"did": ledger.lot_did, "key": str(ledger.issuer_key), "claims": str(ledger.claims)}
    result = ledger.invoke(*(arg.format(**values) for arg in args))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_a_claims_file_that_breaks_the_schema_is_refused_with_its_path(ledger, tmp_path):
    claims = tmp_path / "bad.json"
    claims.write_text(json.dumps({"lot": LOT.uri, "colour": "blue"}))
    result = ledger.issue_fit_for_use(claims=claims)
    assert result.exit_code == 1
    assert "FitForUse claims do not match" in result.stderr and "colour" in result.stderr


def test_shipment_claims_come_from_the_bridge_database(ledger, tmp_path):
    c = ledger.consortium
    command = (
        "issue",
        "ColdChainComplianceCredential",
        "--subject",
        ledger.lot_did,
        "--shipment",
        LOT.uri,
        "--key",
        str(ledger.issuer_key),
    )
    nothing = ledger.invoke(*command)
    assert nothing.exit_code == 1
    assert nothing.stderr.startswith(f"error: the bridge holds no reading of lot {LOT.uri}")

    # The bridge's organization anchors the readings and states their summary.
    cold_chain = ColdChain(c, Account.from_key(ANVIL_KEYS[4]))
    CredentialRegistryClient(c.sender(c.governor), c.deployment).set_trusted(
        cold_chain.oracle.address, "ColdChainComplianceCredential", True
    )
    c.set_rule(LOT.product_class, RULE)
    logger = cold_chain.device(LOT.batch_id)
    bridge = cold_chain.bridge(
        make_engine(f"sqlite:///{ledger.state_dir / 'bridge.db'}"),
        settings=BridgeSettings(window_max_age_s=0),
    )
    start = int(time.time()) - 600
    for seq, temp in enumerate((4000, 5000, 6000), start=1):
        reading = Reading(logger.address, LOT.batch_id, seq, start + 60 * seq, temp, 500)
        signed = logger.sign(reading, domain=bridge.domain)
        assert bridge.ingestor.accept(to_json(signed).encode(), source="test").status == "accepted"
    bridge.run_once()
    bridge.engine.dispose()

    vc_file = tmp_path / "compliance.json"
    issued = ledger.invoke(*command, "--out", str(vc_file))
    assert issued.exit_code == 0, issued.output
    subject = json.loads(vc_file.read_text())["credentialSubject"]
    assert subject["lot"] == LOT.uri and subject["readingCount"] == 3
    assert (subject["minTempMilliC"], subject["maxTempMilliC"]) == (4000, 6000)
    assert len(subject["anchorTransactions"]) == 1
    verified = ledger.invoke("verify", str(vc_file), "--json")
    assert json.loads(verified.stdout)["valid"] is True, verified.stdout


def test_keygen_creates_an_encrypted_keystore_and_prints_the_did(ledger, tmp_path):
    out = tmp_path / "lab.json"

    result = ledger.invoke("keygen", "--out", str(out), "--json")

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    key = load_key(out, passphrase=PASSPHRASE)
    address = Account.from_key(key).address
    assert printed == {
        "address": address,
        "did": f"did:pkh:eip155:31337:{address}",
        "keystore": str(out),
    }
    assert key.hex() not in result.stdout
    human = ledger.invoke("keygen", "--out", str(tmp_path / "other.json"), "--chain-id", "5")
    assert human.exit_code == 0 and "did:pkh:eip155:5:0x" in human.stdout
    again = ledger.invoke("keygen", "--out", str(out))
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_the_installed_command_reports_a_wrong_passphrase_without_traceback(ledger, tmp_path):
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "provenance"),
            "credential",
            "revoke",
            "0x" + "ab" * 32,
            "--reason",
            "test",
            "--key",
            str(ledger.issuer_key),
        ],
        env={**os.environ, **ledger.env, PASSPHRASE_VARIABLE: "a different passphrase"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: the passphrase does not open")
    assert "Traceback" not in result.stderr + result.stdout


def test_trust_puts_an_issuer_on_a_types_list_and_remove_takes_it_off(ledger):
    c = ledger.consortium
    registry = CredentialRegistryClient(c.sender(c.governor), c.deployment)
    lab = Account.from_key(ANVIL_KEYS[5]).address
    assert not registry.trusted(lab, "CertificateOfAnalysis")

    added = ledger.invoke("trust", f"did:pkh:eip155:31337:{lab}", "CertificateOfAnalysis")
    assert added.exit_code == 0, added.output
    assert f"trusted   {lab} for CertificateOfAnalysis" in added.stdout
    assert registry.trusted(lab, "CertificateOfAnalysis")
    assert not registry.trusted(lab, "FitForUse")  # one type only

    removed = ledger.invoke("trust", lab.lower(), "CertificateOfAnalysis", "--remove", "--json")
    assert removed.exit_code == 0, removed.output
    receipt = json.loads(removed.stdout)
    assert receipt["issuer"] == lab and receipt["trusted"] is False
    assert receipt["transaction"].startswith("0x")
    assert not registry.trusted(lab, "CertificateOfAnalysis")


@pytest.mark.parametrize(
    ("arguments", "env", "error"),
    [
        (["0x1234", "FitForUse"], {}, "neither a 0x account address nor a did:pkh"),
        (["did:pkh:eip155:1:{lab}", "FitForUse"], {}, "is an account of chain 1, not of this"),
        (["{lab}", "Fitness"], {}, "unknown credential type 'Fitness'"),
        (["{lab}", "FitForUse"], {"PROVENANCE_PRIVATE_KEY": ANVIL_KEYS[3]}, "Unauthorized"),
    ],
    ids=[
        "a malformed issuer",
        "another chain's account",
        "an unknown type",
        "signed by an account that is not governor",
    ],
)
def test_trust_refuses_with_one_line_and_changes_nothing(ledger, arguments, env, error):
    c = ledger.consortium
    registry = CredentialRegistryClient(c.sender(c.governor), c.deployment)
    lab = Account.from_key(ANVIL_KEYS[5]).address
    result = ledger.invoke("trust", *(a.format(lab=lab) for a in arguments), **env)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and error in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert not registry.trusted(lab, "FitForUse")


def test_commission_creates_the_lot_and_binds_its_new_did_with_the_key_kept(ledger, tmp_path):
    c = ledger.consortium
    lot = DigitalLink.lot("09506000134352", "CLI-COMMISSION-1")
    result = ledger.invoke(
        "commission",
        lot.uri,
        "--keystore-dir",
        str(tmp_path / "tags"),
        "--json",
        PROVENANCE_PRIVATE_KEY=ANVIL_KEYS[1],  # the consortium's operator
    )
    assert result.exit_code == 0, result.output
    asset = json.loads(result.stdout)
    assert asset["uri"] == lot.uri and asset["batchId"] == "0x" + lot.batch_id.hex()
    assert c.writer().batch(lot.batch_id).created_at > 0
    registry = CredentialRegistryClient(c.sender(c.governor), c.deployment)
    binding = registry.bound_entity(asset["did"])
    assert binding is not None and binding.entity_id == lot.batch_id
    key = load_key(Path(asset["keystore"]), passphrase=PASSPHRASE)
    assert asset["did"].startswith("did:key:") and len(key) == 32


@pytest.mark.parametrize(
    ("uri", "key", "error"),
    [
        (LOT.uri, ANVIL_KEYS[1], "BatchExists"),  # commissioned by the fixture already
        ("https://id.gs1.org/01/09506000134352/10/CLI-COMMISSION-2", ANVIL_KEYS[3], "Unauthorized"),
        ("https://example.com/not-a-digital-link", ANVIL_KEYS[1], "does not have the path"),
    ],
    ids=["a lot that exists", "signed by an account that is not operator", "a malformed URI"],
)
def test_commission_refuses_with_one_line_and_leaves_no_key_behind(
    ledger, tmp_path, uri, key, error
):
    tags = tmp_path / "tags"
    result = ledger.invoke(
        "commission", uri, "--keystore-dir", str(tags), PROVENANCE_PRIVATE_KEY=key
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and error in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert not tags.exists() or list(tags.iterdir()) == []


# --- the governor's override (PROVENANCE_PRIVATE_KEY: anvil's first key, the governor) -----


def test_the_governor_revokes_any_credential_over_its_issuer(ledger, tmp_path):
    vc_file = tmp_path / "fit.json"
    ledger.issue(vc_file)
    (entry,) = json.loads(ledger.invoke("list", "--json").stdout)
    c = ledger.consortium
    registry = CredentialRegistryClient(c.sender(c.governor), c.deployment)

    result = ledger.invoke("governor-revoke", str(vc_file), "--reason", "issuer key leaked")
    assert result.exit_code == 0, result.output
    assert f"revoked     {entry['credentialHash']} by the governor {c.governor.address}" in (
        result.stdout
    )
    assert f"issuer      {Account.from_key(ANVIL_KEYS[4]).address}" in result.stdout
    assert "status      REVOKED" in result.stdout and "transaction 0x" in result.stdout
    assert registry.status(bytes.fromhex(entry["credentialHash"][2:])) is CredentialStatus.REVOKED


def test_the_governor_suspends_a_credential_and_lifts_the_suspension(ledger, tmp_path):
    ledger.issue(tmp_path / "fit.json")
    (entry,) = json.loads(ledger.invoke("list", "--json").stdout)
    digest = entry["credentialHash"]
    c = ledger.consortium
    registry = CredentialRegistryClient(c.sender(c.governor), c.deployment)

    suspended = ledger.invoke("governor-suspend", digest, "--reason", "under audit", "--json")
    assert suspended.exit_code == 0, suspended.output
    document = json.loads(suspended.stdout)
    assert (document["override"], document["status"]) == ("suspended", "SUSPENDED")
    assert document["reason"] == "under audit" and document["transaction"].startswith("0x")
    anchored = registry.credential(bytes.fromhex(digest[2:]))
    assert anchored is not None and anchored.suspended_by_governor

    lifted = ledger.invoke("governor-unsuspend", digest, "--reason", "audit passed")
    assert lifted.exit_code == 0, lifted.output
    assert "status      VALID" in lifted.stdout
    assert registry.status(bytes.fromhex(digest[2:])) is CredentialStatus.VALID


@pytest.mark.parametrize("command", ["governor-revoke", "governor-suspend"])
def test_only_a_governor_overrides_a_credential(ledger, tmp_path, command):
    ledger.issue(tmp_path / "fit.json")
    (entry,) = json.loads(ledger.invoke("list", "--json").stdout)
    operator = ledger.consortium.operator.address

    result = ledger.invoke(
        command,
        entry["credentialHash"],
        "--reason",
        "not mine to judge",
        PROVENANCE_PRIVATE_KEY=ANVIL_KEYS[1],
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: CredentialRegistry.") and (
        f"MembershipUnauthorizedAccount: account {operator} does not hold the role GOVERNOR_ROLE"
        in result.stderr
    ), result.stderr
    assert result.stderr.strip().count("\n") == 0
    c = ledger.consortium
    registry = CredentialRegistryClient(c.sender(c.governor), c.deployment)
    assert registry.status(bytes.fromhex(entry["credentialHash"][2:])) is CredentialStatus.VALID


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("governor-unsuspend", "{hash}", "--reason", "x"), "CredentialRegistryNotSuspended"),
        (("governor-revoke", "{hash}", "--reason", "  "), "--reason is blank"),
        (("governor-revoke", "0x" + "ab" * 32, "--reason", "x"), "was never anchored on chain"),
        (("governor-suspend", "nothing", "--reason", "x"), "neither a credential file nor a 0x"),
    ],
    ids=["nothing to lift", "a blank reason", "a hash never anchored", "neither file nor hash"],
)
def test_a_refused_override_is_one_line(ledger, tmp_path, args, message):
    ledger.issue(tmp_path / "fit.json")
    (entry,) = json.loads(ledger.invoke("list", "--json").stdout)
    result = ledger.invoke(*(arg.format(hash=entry["credentialHash"]) for arg in args))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_the_issuer_suspends_its_credential_and_lifts_the_suspension(ledger, tmp_path):
    ledger.issue(tmp_path / "fit.json")
    (entry,) = json.loads(ledger.invoke("list", "--json").stdout)
    digest = entry["credentialHash"]
    c = ledger.consortium
    registry = CredentialRegistryClient(c.sender(c.governor), c.deployment)

    suspended = ledger.invoke(
        "suspend", digest, "--reason", "lab rechecks", "--key", str(ledger.issuer_key), "--json"
    )
    assert suspended.exit_code == 0, suspended.output
    document = json.loads(suspended.stdout)
    assert (document["suspended"], document["status"]) == (True, "SUSPENDED")
    anchored = registry.credential(bytes.fromhex(digest[2:]))
    assert anchored is not None and anchored.suspended and not anchored.suspended_by_governor

    lifted = ledger.invoke(
        "unsuspend",
        str(tmp_path / "fit.json"),
        "--reason",
        "recheck passed",
        "--key",
        str(ledger.issuer_key),
    )
    assert lifted.exit_code == 0, lifted.output
    assert f"unsuspended {digest}" in lifted.stdout and "status      VALID" in lifted.stdout
    assert registry.status(bytes.fromhex(digest[2:])) is CredentialStatus.VALID


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("unsuspend", "{hash}", "--reason", "x"), "CredentialRegistryNotSuspended"),
        (("suspend", "{hash}", "--reason", "  "), "--reason is blank"),
        (("suspend", "0x" + "ab" * 32, "--reason", "x"), "was never anchored on chain"),
        (("suspend", "{hash}", "--reason", "x", "--key", "{other}"), "but the credential's issuer"),
    ],
    ids=["nothing to lift", "a blank reason", "a hash never anchored", "not the issuer"],
)
def test_a_refused_suspension_is_one_line_and_changes_nothing(ledger, tmp_path, args, message):
    ledger.issue(tmp_path / "fit.json")
    (entry,) = json.loads(ledger.invoke("list", "--json").stdout)
    other = store_key(
        tmp_path / "other.json", ANVIL_KEYS[3].removeprefix("0x"), passphrase=PASSPHRASE
    )
    filled = [arg.format(hash=entry["credentialHash"], other=other) for arg in args]
    if "--key" not in filled:
        filled += ["--key", str(ledger.issuer_key)]
    result = ledger.invoke(*filled)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0
    c = ledger.consortium
    registry = CredentialRegistryClient(c.sender(c.governor), c.deployment)
    assert registry.status(bytes.fromhex(entry["credentialHash"][2:])) is CredentialStatus.VALID
