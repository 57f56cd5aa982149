"""`provenance prefix`, `lot` and `class` against the test anvil: each write allowed for the
party the issue-13 model names and refused, in one line with the contract's custom error
and nothing changed, for the wrong one."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner

from ledger_client.identifiers import DigitalLink
from ledger_client.ledger import LedgerWriter
from ledger_client.roles import Role
from oracle_bridge.contracts import ComplianceRulesClient
from provenance.cli import app
from tests.factories import ANVIL_KEYS, BRAND_PREFIX, Consortium
from tests.provenance.cli_process import run_cli

pytestmark = pytest.mark.integration

LOT = DigitalLink.lot("09506000134352", "OWN-CLI-1")
BRAND_GTIN = "09506000134352"
OTHER_PREFIX = "4012345"

runner = CliRunner()


@dataclass
class Parties:
    """Fresh contracts and a state directory pointing at them; the brand owner (the
    consortium's operator, owner of `BRAND_PREFIX`) created `LOT`; a carrier and a lab are
    operators too, with no standing on it."""

    consortium: Consortium
    env: dict[str, str]
    carrier: LocalAccount
    lab: LocalAccount

    @property
    def brand(self) -> LocalAccount:
        return self.consortium.operator

    @property
    def ledger(self) -> LedgerWriter:
        return self.consortium.writer()

    def invoke(self, *args: str, signer: LocalAccount | None = None):  # noqa: ANN201 - click's Result
        """The command signed with `signer`'s key as PROVENANCE_PRIVATE_KEY (else none set)."""
        env = dict(self.env)
        if signer is not None:
            env["PROVENANCE_PRIVATE_KEY"] = "0x" + bytes(signer.key).hex()
        return runner.invoke(app, list(args), env=env)


@pytest.fixture
def parties(consortium: Consortium, anvil, tmp_path: Path) -> Parties:
    state_dir = tmp_path / "state"
    consortium.deployment.save(state_dir / "deployment.json")
    carrier, lab = (Account.from_key(key) for key in ANVIL_KEYS[4:6])
    for account in (carrier, lab):
        consortium.membership().grant_role(Role.OPERATOR, account.address)
    consortium.writer().create_batch(LOT.uri, product_class=LOT.product_class)
    env = {"PROVENANCE_RPC_URL": anvil.rpc_url, "PROVENANCE_STATE_DIR": str(state_dir)}
    return Parties(consortium, env, carrier, lab)


def assert_done(result) -> None:  # noqa: ANN001 - click's Result
    assert result.exit_code == 0, result.output
    assert re.search(r"^in +transaction 0x[0-9a-f]{64} \(block \d+\)$", result.stdout, re.M), (
        result.stdout
    )


def assert_refused(result, *fragments: str) -> None:  # noqa: ANN001 - click's Result
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: "), result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert result.stdout == ""


# --- prefixes -----------------------------------------------------------------------------


def test_the_governor_assigns_a_prefix(parties):
    result = parties.invoke(
        "prefix",
        "assign",
        OTHER_PREFIX,
        parties.carrier.address,
        signer=parties.consortium.governor,
    )
    assert_done(result)
    assert f"owner   {parties.carrier.address} (was unassigned)" in result.stdout
    assert parties.ledger.prefix_owner(OTHER_PREFIX) == parties.carrier.address


def test_reassigning_a_prefix_names_the_owner_whose_delegations_end(parties):
    result = parties.invoke(
        "prefix",
        "assign",
        BRAND_PREFIX,
        parties.carrier.address,
        "--json",
        signer=parties.consortium.governor,
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["owner"] == parties.carrier.address
    assert document["previousOwner"] == parties.brand.address
    assert document["transaction"].startswith("0x") and document["blockNumber"] > 0
    assert parties.ledger.prefix_owner(BRAND_PREFIX) == parties.carrier.address


def test_an_operator_cannot_assign_a_prefix(parties):
    result = parties.invoke(
        "prefix", "assign", OTHER_PREFIX, parties.carrier.address, signer=parties.carrier
    )
    assert_refused(
        result,
        "MembershipUnauthorizedAccount",
        f"account {parties.carrier.address} does not hold the role GOVERNOR_ROLE",
    )
    assert parties.ledger.prefix_owner(OTHER_PREFIX) is None


def test_the_prefix_owner_delegates_and_undelegates_it(parties):
    delegated = parties.invoke(
        "prefix", "delegate", BRAND_PREFIX, parties.lab.address, signer=parties.brand
    )
    assert_done(delegated)
    assert f"{parties.lab.address} may now create lots" in delegated.stdout
    assert parties.ledger.is_prefix_holder(BRAND_GTIN, parties.lab.address)

    undelegated = parties.invoke(
        "prefix", "undelegate", BRAND_PREFIX, parties.lab.address, "--json", signer=parties.brand
    )
    assert undelegated.exit_code == 0, undelegated.output
    assert json.loads(undelegated.stdout)["delegated"] is False
    assert not parties.ledger.is_prefix_holder(BRAND_GTIN, parties.lab.address)


def test_only_the_prefix_owner_delegates_it(parties):
    result = parties.invoke(
        "prefix", "delegate", BRAND_PREFIX, parties.lab.address, signer=parties.carrier
    )
    assert_refused(
        result,
        "ProvenanceLedgerNotPrefixOwner",
        f"account {parties.carrier.address} does not own the GS1 company prefix {BRAND_PREFIX}",
    )
    assert not parties.ledger.is_prefix_holder(BRAND_GTIN, parties.lab.address)


def test_a_delegate_cannot_undelegate_itself_or_others(parties):
    parties.ledger.delegate_prefix(BRAND_PREFIX, parties.lab.address)
    result = parties.invoke(
        "prefix", "undelegate", BRAND_PREFIX, parties.lab.address, signer=parties.lab
    )
    assert_refused(result, "ProvenanceLedgerNotPrefixOwner")
    assert parties.ledger.is_prefix_holder(BRAND_GTIN, parties.lab.address)


# --- writers ------------------------------------------------------------------------------


def test_the_owner_authorizes_and_revokes_a_writer(parties):
    authorized = parties.invoke(
        "lot", "authorize", LOT.uri, parties.lab.address, signer=parties.brand
    )
    assert_done(authorized)
    assert f"lot         {LOT.uri} (batch 0x{LOT.batch_id.hex()})" in authorized.stdout
    assert f"authorized  {parties.lab.address} may now record" in authorized.stdout
    assert parties.ledger.is_writer(LOT.batch_id, parties.lab.address)

    revoked = parties.invoke("lot", "revoke", LOT.uri, parties.lab.address, signer=parties.brand)
    assert_done(revoked)
    assert f"{parties.lab.address} may no longer record" in revoked.stdout
    assert not parties.ledger.is_writer(LOT.batch_id, parties.lab.address)


def test_an_organization_without_standing_cannot_authorize(parties):
    result = parties.invoke(
        "lot", "authorize", "0x" + LOT.batch_id.hex(), parties.lab.address, signer=parties.carrier
    )
    assert_refused(
        result,
        "authorizeWriter: ProvenanceLedgerNotBatchHolder",
        f"account {parties.carrier.address} is neither the owner nor the custodian of batch "
        f"0x{LOT.batch_id.hex()}",
    )
    assert not parties.ledger.is_writer(LOT.batch_id, parties.lab.address)


def test_an_organization_without_standing_cannot_revoke(parties):
    parties.ledger.authorize_writer(LOT.batch_id, parties.lab.address)
    result = parties.invoke("lot", "revoke", LOT.uri, parties.lab.address, signer=parties.carrier)
    assert_refused(result, "revokeWriter: ProvenanceLedgerNotBatchHolder")
    assert parties.ledger.is_writer(LOT.batch_id, parties.lab.address)


def test_revoking_the_custodian_says_it_still_writes(parties):
    result = parties.invoke(
        "lot", "revoke", LOT.uri, parties.brand.address, "--json", signer=parties.brand
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["authorized"] is False and document["mayWrite"] is True


# --- custody ------------------------------------------------------------------------------


def test_the_custodian_offers_and_the_receiver_accepts(parties):
    offered = parties.invoke("lot", "offer", LOT.uri, parties.carrier.address, signer=parties.brand)
    assert_done(offered)
    assert f"custody to {parties.carrier.address}" in offered.stdout
    assert parties.ledger.custody(LOT.batch_id).offered_to == parties.carrier.address

    accepted = parties.invoke("lot", "accept", LOT.uri, "--json", signer=parties.carrier)
    assert accepted.exit_code == 0, accepted.output
    document = json.loads(accepted.stdout)
    assert document["custodian"] == parties.carrier.address
    assert document["previousCustodian"] == parties.brand.address
    custody = parties.ledger.custody(LOT.batch_id)
    assert (custody.owner, custody.custodian) == (parties.brand.address, parties.carrier.address)
    assert custody.offered_to is None


def test_only_the_custodian_offers_custody(parties):
    result = parties.invoke(
        "lot", "offer", LOT.uri, parties.carrier.address, signer=parties.carrier
    )
    assert_refused(
        result,
        "offerCustody: ProvenanceLedgerNotCustodian",
        f"account {parties.carrier.address} is not the custodian of batch",
    )
    assert parties.ledger.custody(LOT.batch_id).offered_to is None


def test_only_the_organization_offered_custody_accepts_it(parties):
    parties.ledger.offer_custody(LOT.batch_id, parties.carrier.address)
    result = parties.invoke("lot", "accept", LOT.uri, signer=parties.lab)
    assert_refused(
        result,
        "acceptCustody: ProvenanceLedgerNoCustodyOffer",
        f"no offer of batch 0x{LOT.batch_id.hex()}'s custody stands for account "
        f"{parties.lab.address}",
    )
    assert parties.ledger.custody(LOT.batch_id).custodian == parties.brand.address


def test_show_says_who_owns_holds_and_may_write(parties):
    parties.ledger.authorize_writer(LOT.batch_id, parties.lab.address)
    parties.ledger.offer_custody(LOT.batch_id, parties.carrier.address)

    shown = parties.invoke(
        "lot", "show", LOT.uri, "--writer", parties.lab.address, "--writer", parties.carrier.address
    )
    assert shown.exit_code == 0, shown.output
    assert f"owner       {parties.brand.address}" in shown.stdout
    assert f"custodian   {parties.brand.address}" in shown.stdout
    assert f"offered to  {parties.carrier.address}" in shown.stdout
    assert f"may write   {parties.lab.address} yes" in shown.stdout
    assert f"may write   {parties.carrier.address} no" in shown.stdout

    document = json.loads(parties.invoke("lot", "show", LOT.uri, "--json").stdout)
    assert document["status"] == "ACTIVE" and document["kind"] == "LOT"
    assert document["productClass"] == "0x" + LOT.product_class.hex()
    assert document["custodyOfferedTo"] == parties.carrier.address
    assert document["mayWrite"] == {}


def test_show_of_a_lot_never_created_is_one_line(parties):
    other = DigitalLink.lot(BRAND_GTIN, "NEVER-CREATED")
    result = parties.invoke("lot", "show", other.uri)
    assert_refused(result, f"ProvenanceLedgerUnknownBatch: {other.uri} (batch 0x")


# --- product classes ----------------------------------------------------------------------


def test_the_governor_assigns_a_class_authority(parties):
    rules = ComplianceRulesClient(
        parties.consortium.sender(parties.consortium.governor), parties.consortium.deployment
    )
    quality = parties.consortium.quality.address
    result = parties.invoke(
        "class", "authority", BRAND_GTIN, quality, signer=parties.consortium.governor
    )
    assert_done(result)
    assert f"class      0x{LOT.product_class.hex()} ({BRAND_GTIN})" in result.stdout
    assert f"authority  {quality} (was none)" in result.stdout
    assert rules.class_authority(LOT.product_class) == quality


def test_an_operator_cannot_assign_a_class_authority(parties):
    rules = ComplianceRulesClient(
        parties.consortium.sender(parties.consortium.governor), parties.consortium.deployment
    )
    result = parties.invoke(
        "class",
        "authority",
        f"https://id.gs1.org/01/{BRAND_GTIN}",
        parties.brand.address,
        signer=parties.brand,
    )
    assert_refused(result, "MembershipUnauthorizedAccount", "GOVERNOR_ROLE")
    assert rules.class_authority(LOT.product_class) is None


# --- input, keys and deployment -----------------------------------------------------------

CHECKSUM_TYPO = "0x70997970c51812dc3A010C7d01b50e0d17dc79C8"  # one letter's case flipped


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["lot", "accept", "https://id.gs1.org/01/09506000134353/10/X"], "GTIN check digit is 3"),
        (["lot", "show", "0x1234"], "batch id '0x1234' is not 0x and 64 hex digits"),
        (["lot", "offer", LOT.uri, "0x1234"], "ORG: '0x1234' is not an address"),
        (["lot", "authorize", LOT.uri, CHECKSUM_TYPO], "has a wrong EIP-55 checksum; expected"),
        (["lot", "offer", LOT.uri, "0x" + "0" * 40], "the zero address is no organization"),
        (["lot", "show", LOT.uri, "--writer", "lab"], "--writer: 'lab' is not an address"),
        (["prefix", "assign", "95060", "0x" + "1" * 40], "must be 6 to 12 digits"),
        (["class", "authority", "vaccines", "0x" + "1" * 40], "is not a GTIN, a product's"),
    ],
)
def test_bad_input_is_one_line_before_the_chain_is_asked(args, line):
    # No node answers at this URL: each refusal comes before any call.
    result = runner.invoke(app, args, env={"PROVENANCE_RPC_URL": "http://127.0.0.1:9"})
    assert_refused(result, line)


def test_without_a_deployment_record_it_says_what_to_run(anvil, tmp_path):
    result = runner.invoke(
        app,
        ["lot", "show", LOT.uri],
        env={"PROVENANCE_RPC_URL": anvil.rpc_url, "PROVENANCE_STATE_DIR": str(tmp_path)},
    )
    assert_refused(result, "no deployment record at", "run `provenance deploy` first")


def test_an_anvil_key_is_refused_off_anvil(parties, besu_node):
    result = runner.invoke(
        app,
        ["lot", "offer", LOT.uri, parties.carrier.address],
        env={**parties.env, "PROVENANCE_RPC_URL": besu_node},
    )
    assert_refused(result, "PROVENANCE_PRIVATE_KEY")
    assert parties.ledger.custody(LOT.batch_id).offered_to is None


def test_the_installed_command_refuses_in_one_line_without_traceback(parties, tmp_path):
    result = run_cli(
        "lot",
        "accept",
        LOT.uri,
        env={**parties.env, "PROVENANCE_PRIVATE_KEY": "0x" + bytes(parties.lab.key).hex()},
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: acceptCustody: ProvenanceLedgerNoCustodyOffer")
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
