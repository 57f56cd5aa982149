"""Typed wrappers of the Membership contract: organizations, roles, pause switch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from web3 import Web3

from ledger_client.contract_client import ContractClient
from ledger_client.contract_view import ContractView
from ledger_client.reads import Read
from ledger_client.roles import Role
from ledger_client.transactions import Receipt


@dataclass(frozen=True)
class Organization:
    account: str
    did: str
    name: str
    active: bool


class MembershipView(ContractView):
    """Consortium membership as the chain holds it; anyone reads it."""

    name = "Membership"

    def has_role(self, role: Role, account: str) -> bool:
        return self.contract.functions.hasRole(role.id, Web3.to_checksum_address(account)).call()

    def is_authorized(self, role: Role, account: str) -> bool:
        """Whether `account` may use `role` now: it holds the role and its organization, if
        it is one, is active (the pause aside)."""
        return self.contract.functions.isAuthorized(
            role.id, Web3.to_checksum_address(account)
        ).call()

    def is_paused(self) -> bool:
        return self.contract.functions.paused().call()

    def organization(self, account: str) -> Organization | None:
        """The registered organization `account`; None when it is none."""
        record = self.contract.functions.organization(Web3.to_checksum_address(account)).call()
        return _organization(account, record)

    def organization_read(self, account: str) -> Read[Organization | None]:
        """`organization(account)` as a read to send in a batch."""
        call = self._function("organization").read(Web3.to_checksum_address(account))
        return call.then(lambda outputs: _organization(account, outputs[0]))


class MembershipClient(MembershipView, ContractClient):
    """Membership's reads, and its writes with a sender holding GOVERNOR."""

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


def _organization(account: str, record: Sequence) -> Organization | None:
    did, name, active, _ = record
    return Organization(account, did, name, active) if did else None
