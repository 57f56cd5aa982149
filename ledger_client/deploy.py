"""Deploy the consortium's contracts, wire them together, describe them in a deployment record."""

from __future__ import annotations

from eth_account import Account
from eth_typing import ChecksumAddress
from web3 import Web3

from ledger_client.artifacts import compile_contracts, load_artifact
from ledger_client.deployment import Deployment
from ledger_client.errors import DeploymentError
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import Receipt, TransactionSender


def _create(sender: TransactionSender, name: str, *args: object) -> tuple[Receipt, ChecksumAddress]:
    """The receipt of deploying contract `name` and the checksummed address it created."""
    artifact = load_artifact(name)
    factory = sender.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = factory.constructor(*args).data_in_transaction
    receipt = sender.transact(None, data, context=f"deploy {name}")
    if not receipt.contract_address:
        raise DeploymentError(
            f"deploying {name} created no contract (transaction {receipt.tx_hash})"
        )
    return receipt, Web3.to_checksum_address(receipt.contract_address)


def deploy_contracts(w3: Web3, *, governor_key: str) -> Deployment:
    """Deploy Membership, ProvenanceLedger, DeviceRegistry, ColdChainCompliance,
    CredentialRegistry and AccessTrail with `governor_key` as the consortium's first
    governor, and wire them: the compliance contract holds QUARANTINE_ROLE and is the only
    caller the device registry accepts readings from. Artifacts older than the sources are
    compiled afresh first (checking costs under a millisecond), so a contract change is never
    deployed stale.
    """
    compile_contracts()
    sender = TransactionSender(w3, Account.from_key(governor_key))
    addresses: dict[str, ChecksumAddress] = {}

    def create(name: str, *args: object) -> Receipt:
        receipt, addresses[name] = _create(sender, name, *args)
        return receipt

    first = create("Membership", sender.account.address)
    create("ProvenanceLedger", addresses["Membership"])
    create("DeviceRegistry", addresses["Membership"], addresses["ProvenanceLedger"])
    create(
        "ColdChainCompliance",
        addresses["Membership"],
        addresses["ProvenanceLedger"],
        addresses["DeviceRegistry"],
    )
    create("CredentialRegistry", addresses["Membership"], addresses["ProvenanceLedger"])
    create("AccessTrail", addresses["Membership"])
    deployment = Deployment(
        chain_id=sender.chain_id,
        addresses=addresses,
        deploy_block=first.block_number,
        deployer=sender.account.address,
    )
    MembershipClient(sender, deployment).grant_role(
        Role.QUARANTINE, addresses["ColdChainCompliance"]
    )
    registry = deployment.contract(w3, "DeviceRegistry")
    sender.transact(
        addresses["DeviceRegistry"],
        registry.encode_abi("setCompliance", args=[addresses["ColdChainCompliance"]]),
        context="DeviceRegistry.setCompliance",
    )
    return deployment
