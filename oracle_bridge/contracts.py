"""Typed wrappers of DeviceRegistry and ColdChainCompliance's administrative side.

The bridge's hot paths (anchoring windows, submitting signed readings) live in the
submitter; this is what organizations do by hand: enrol devices, assign them to
lots, set a product class's rule. The reads are the contracts' views
(`ledger_client.device_registry.DeviceRegistryView`, `ComplianceRulesView`).
"""

from __future__ import annotations

from web3 import Web3

from ledger_client.contract_client import ContractClient
from ledger_client.contract_view import ContractView
from ledger_client.deployment import Deployment
from ledger_client.device_registry import DeviceRegistryView
from ledger_client.transactions import Receipt, TransactionSender
from oracle_bridge.device import DeviceRegistration, RegistryDomain
from oracle_bridge.rules import Rule


class DeviceRegistryClient(DeviceRegistryView, ContractClient):
    """Devices of the sender's organization (OPERATOR): enrol, assign, (de)activate.

    Only the organization that registered a device assigns it or switches it off (the
    governor may too); registering one takes the device's own signature, made with
    `DeviceKey.sign_registration(organization=..., domain=client.domain)`.
    """

    def __init__(self, sender: TransactionSender, deployment: Deployment) -> None:
        super().__init__(sender, deployment)
        self.domain = RegistryDomain(chain_id=deployment.chain_id, registry=self.address)

    def register_device(self, registration: DeviceRegistration) -> Receipt:
        """Registers `registration.device` to the sender's organization; the chain refuses it
        unless the device signed it for that organization (`DeviceRegistryNotSignedByDevice`)."""
        return self._write(
            "registerDevice",
            Web3.to_checksum_address(registration.device),
            registration.did,
            registration.signature,
        )

    def assign_device(self, account: str, batch_id: bytes) -> Receipt:
        """Puts the sender's device on `batch_id` (zero bytes: takes it off). The sender must
        write the batch, as its owner, custodian or a writer one of them authorized
        (`LedgerWriter.authorize_writer`); else `DeviceRegistryNotBatchWriter`."""
        return self._write("assignDevice", Web3.to_checksum_address(account), batch_id)

    def set_device_active(self, account: str, active: bool) -> Receipt:
        return self._write("setDeviceActive", Web3.to_checksum_address(account), active)


class ComplianceRulesView(ContractView):
    """Cold-chain rules per product class and who sets them; anyone reads them."""

    name = "ColdChainCompliance"

    def class_authority(self, product_class: bytes) -> str | None:
        """The organization that sets `product_class`'s rule; None before one is assigned."""
        account = self.contract.functions.classAuthority(product_class).call()
        return None if int(account, 16) == 0 else account

    def rule(self, product_class: bytes) -> tuple[Rule, int] | None:
        """The class's rule and its version; None before the first `set_rule`."""
        stored, version = self.contract.functions.rule(product_class).call()
        return (Rule(*stored), version) if version else None


class ComplianceRulesClient(ComplianceRulesView, ContractClient):
    """Cold-chain rules per product class: the governor assigns each class the quality
    organization that answers for it, only that organization (holding QUALITY) sets the
    class's rule, anyone reads it."""

    def assign_class_authority(self, product_class: bytes, organization: str) -> Receipt:
        """The governor makes `organization` the only setter of `product_class`'s rule."""
        return self._write(
            "assignClassAuthority", product_class, Web3.to_checksum_address(organization)
        )

    def set_rule(self, product_class: bytes, rule: Rule) -> Receipt:
        """Refused as `ColdChainComplianceNotClassAuthority` unless the sender is the class's
        authority."""
        return self._write("setRule", product_class, rule.as_struct())
