"""Deploy Membership and ProvenanceLedger and describe them in a deployment record."""

from __future__ import annotations

from eth_account import Account
from web3 import Web3

from ledger_client.artifacts import load_artifact
from ledger_client.deployment import Deployment
from ledger_client.errors import DeploymentError
from ledger_client.transactions import Receipt, TransactionSender


def _create(sender: TransactionSender, name: str, *args: object) -> Receipt:
    artifact = load_artifact(name)
    factory = sender.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = sender.transact(
        None, factory.constructor(*args).data_in_transaction, context=f"deploy {name}"
    )
    if not receipt.contract_address:
        raise DeploymentError(
            f"deploying {name} created no contract (transaction {receipt.tx_hash})"
        )
    return receipt


def deploy_contracts(w3: Web3, *, governor_key: str) -> Deployment:
    """Deploy the ledger's contracts with `governor_key` as the consortium's first governor."""
    sender = TransactionSender(w3, Account.from_key(governor_key))
    membership = _create(sender, "Membership", sender.account.address)
    ledger = _create(
        sender, "ProvenanceLedger", Web3.to_checksum_address(membership.contract_address)
    )
    return Deployment(
        chain_id=sender.chain_id,
        addresses={
            "Membership": Web3.to_checksum_address(membership.contract_address),
            "ProvenanceLedger": Web3.to_checksum_address(ledger.contract_address),
        },
        deploy_block=membership.block_number,
        deployer=sender.account.address,
    )
