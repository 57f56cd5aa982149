"""What the chain checks need from a credential, read from it defensively (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from credentials.errors import UnsupportedDid
from credentials.identities import is_supported_did, pkh_account
from credentials.types import CredentialType, parse_instant

LOT_CREDENTIAL_TYPES = frozenset(
    {
        CredentialType.CERTIFICATE_OF_ANALYSIS,
        CredentialType.FIT_FOR_USE,
        CredentialType.COLD_CHAIN_COMPLIANCE,
    }
)
"""Types about a lot: their subject must be bound to the batch of the claims' `lot`."""

SubjectKey = tuple[str, str | None]
"""(subject DID, lot URI for a lot credential): one binding question."""


@dataclass(frozen=True)
class Claims:
    """What the chain checks need from a credential, read from it defensively (a malformed
    credential fails the schema check; here it only makes the chain checks fail)."""

    kind: CredentialType | None
    issuer: object
    issuer_problem: str | None
    issuer_address: str | None
    issued_at: int | None
    subject: str | None
    lot: str | None

    @classmethod
    def of(cls, vc: Mapping[str, Any], *, chain_id: int) -> Claims:
        types = vc.get("type")
        kind = None
        if isinstance(types, list) and len(types) == 2 and isinstance(types[1], str):
            kind = next((member for member in CredentialType if member.value == types[1]), None)
        issuer = vc.get("issuer")
        address, problem = pkh_account_or_problem(issuer, chain_id=chain_id)
        try:
            issued_at: int | None = int(parse_instant(vc.get("issuanceDate")).timestamp())
        except ValueError:
            issued_at = None
        subject_claims = vc.get("credentialSubject")
        subject_claims = subject_claims if isinstance(subject_claims, Mapping) else {}
        subject = subject_claims.get("id")
        lot = subject_claims.get("lot") if kind in LOT_CREDENTIAL_TYPES else None
        return cls(
            kind=kind,
            issuer=issuer,
            issuer_problem=problem,
            issuer_address=address,
            issued_at=issued_at,
            subject=subject if is_supported_did(subject) else None,
            lot=lot if isinstance(lot, str) else None,
        )

    @property
    def subject_key(self) -> SubjectKey | None:
        if self.subject is None or (self.kind in LOT_CREDENTIAL_TYPES and self.lot is None):
            return None
        return (self.subject, self.lot)


def pkh_account_or_problem(did: object, *, chain_id: int) -> tuple[str | None, str | None]:
    """The checksummed account of a did:pkh of this chain, or why `did` is not one."""
    if not is_supported_did(did):
        return None, f"{did!r} is not an accepted DID"
    try:
        return pkh_account(did, chain_id=chain_id), None
    except UnsupportedDid as exc:
        return None, str(exc)
