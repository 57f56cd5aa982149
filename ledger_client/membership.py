"""Typed wrapper of the Membership contract: organizations, roles, pause switch."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from ledger_client.contract_client import ContractClient
from ledger_client.roles import Role
from ledger_client.transactions import Receipt


@dataclass(frozen=True)
class Organization:
    account: str
    did: str
    name: str
    active: bool


class MembershipClient(ContractClient):
    """Reads and (with a sender holding GOVERNOR) writes consortium membership."""

    name = "Membership"

    def register_organization(self, account: str, *, did: str, name: str) -> Receipt:
        return self._write("registerOrganization", Web3.to_checksum_address(account), did, name)

    def set_organization_active(self, account: str, active: bool) -> Receipt:
        return self._write("setOrganizationActive", Web3.to_checksum_address(account), active)

    def grant_role(self, role: Role, account: str) -> Receipt:
        return self._write("grantRole", role.id, Web3.to_checksum_address(account))

    def revoke_role(self, role: Role, account: str) -> Receipt:
        return self._write("revokeRole", role.id, Web3.to_checksum_address(account))

    def pause(self) -> Receipt:
        return self._write("pause")

    def unpause(self) -> Receipt:
        return self._write("unpause")

    def has_role(self, role: Role, account: str) -> bool:
        return self.contract.functions.hasRole(role.id, Web3.to_checksum_address(account)).call()

    def is_paused(self) -> bool:
        return self.contract.functions.paused().call()

    def organization(self, account: str) -> Organization | None:
        did, name, active, _ = self.contract.functions.organization(
            Web3.to_checksum_address(account)
        ).call()
        return Organization(account, did, name, active) if did else None
