"""The consortium's on-chain roles (DESIGN.md §4) and their AccessControl ids."""

from __future__ import annotations

from enum import StrEnum

from eth_utils import keccak


class Role(StrEnum):
    GOVERNOR = "GOVERNOR_ROLE"
    OPERATOR = "OPERATOR_ROLE"
    ORACLE = "ORACLE_ROLE"
    QUALITY = "QUALITY_ROLE"
    ISSUER = "ISSUER_ROLE"
    AUDITOR = "AUDITOR_ROLE"
    QUARANTINE = "QUARANTINE_ROLE"

    @property
    def id(self) -> bytes:
        """The bytes32 role id, `keccak256("<NAME>_ROLE")` as in Membership.sol."""
        return keccak(text=self.value)

    @classmethod
    def parse(cls, name: str) -> Role:
        """Accept `operator`, `OPERATOR` or `OPERATOR_ROLE`."""
        key = name.upper().removesuffix("_ROLE")
        try:
            return cls[key]
        except KeyError:
            known = ", ".join(r.name.lower() for r in cls)
            raise ValueError(f"unknown role {name!r}; known roles: {known}") from None


ROLE_NAMES: dict[bytes, str] = {role.id: role.value for role in Role} | {
    b"\x00" * 32: "DEFAULT_ADMIN_ROLE"
}
