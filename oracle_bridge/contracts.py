"""Typed wrappers of DeviceRegistry and ColdChainCompliance's administrative side.

The bridge's hot paths (anchoring windows, submitting signed readings) live in the
submitter; this is what organizations do by hand: enrol devices, assign them to
lots, set a product class's rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from ledger_client.contract_client import ContractClient
from ledger_client.transactions import Receipt
from oracle_bridge.rules import Rule


@dataclass(frozen=True)
class RegisteredDevice:
    account: str
    did: str
    owner: str
    assigned_batch: bytes
    active: bool
    last_seq: int


class DeviceRegistryClient(ContractClient):
    """Devices of the sender's organization (OPERATOR): enrol, assign, (de)activate."""

    name = "DeviceRegistry"

    def register_device(self, account: str, *, did: str) -> Receipt:
        return self._write("registerDevice", Web3.to_checksum_address(account), did)

    def assign_device(self, account: str, batch_id: bytes) -> Receipt:
        return self._write("assignDevice", Web3.to_checksum_address(account), batch_id)

    def set_device_active(self, account: str, active: bool) -> Receipt:
        return self._write("setDeviceActive", Web3.to_checksum_address(account), active)

    def device(self, account: str) -> RegisteredDevice | None:
        did, owner, assigned, active, last_seq, _ = self.contract.functions.device(
            Web3.to_checksum_address(account)
        ).call()
        return RegisteredDevice(account, did, owner, assigned, active, last_seq) if did else None


class ComplianceRulesClient(ContractClient):
    """Cold-chain rules per product class (QUALITY writes, anyone reads)."""

    name = "ColdChainCompliance"

    def set_rule(self, product_class: bytes, rule: Rule) -> Receipt:
        return self._write("setRule", product_class, rule.as_struct())

    def rule(self, product_class: bytes) -> tuple[Rule, int] | None:
        """The class's rule and its version; None before the first `set_rule`."""
        stored, version = self.contract.functions.rule(product_class).call()
        return (Rule(*stored), version) if version else None
