"""The chain checks of a credential, pure: each judges what was read from the chain and
returns a `report.Check` whose detail says why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils import keccak, to_checksum_address

from credentials.hashes import subject_hash, type_hash
from credentials.registry import AnchoredCredential, CredentialStatus
from credentials.report import Check, CheckName
from credentials.types import CredentialType, format_instant
from credentials.verify.claims import Claims, SubjectKey, pkh_account_or_problem
from credentials.verify.history import IssuerHistory
from ledger_client.lifecycle import BatchStatus

CLOCK_SKEW_S = 300
"""How far an issuanceDate may run ahead of the anchoring block's time: the issuer's clock
against the chain's (NTP drift, a node's block-time slack), never more."""
ANCHOR_DELAY_LIMIT_S = 3600
"""How long after its issuanceDate a credential may be anchored: `issue_and_anchor` sends
the anchor right after signing, and an hour covers a congested chain or a resubmission. A
later anchor means a backdated date, which would let an issuer dated before its removal
from the trust list pass as trusted then."""
HELD_STATUSES = (BatchStatus.QUARANTINED, BatchStatus.RECALLED, BatchStatus.DESTROYED)
"""Statuses of a lot that suspend the credentials tied to it."""


@dataclass(frozen=True)
class Suspension:
    """Why the registry reads a credential suspended: its issuer, a governor, or its lot."""

    by_issuer: bool
    by_governor: bool
    batch_id: bytes | None
    batch_status: BatchStatus | None


def instant_of(timestamp: int) -> str:
    """Unix seconds as the ISO 8601 instant the reports print."""
    return format_instant(datetime.fromtimestamp(timestamp, UTC))


def anchored_check(
    digest: bytes, anchor: AnchoredCredential | None, claims: Claims, *, chain_id: int
) -> Check:
    name = CheckName.ANCHORED
    if anchor is None:
        return Check.failed(
            name,
            f"CredentialRegistry on chain {chain_id} holds no anchor of hash 0x{digest.hex()}: "
            "this exact credential was never anchored there",
        )
    problems = []
    if claims.issuer_address is None or claims.issuer_address.lower() != anchor.issuer.lower():
        problems.append(f"anchored by {anchor.issuer}, not by its issuer {claims.issuer}")
    if claims.kind is None or anchor.type_hash != type_hash(claims.kind.value):
        problems.append(
            f"anchored with type hash 0x{anchor.type_hash.hex()}, not that of its type "
            f"{claims.kind.value if claims.kind else '(none)'}"
        )
    if claims.subject is None or anchor.subject_hash != subject_hash(claims.subject):
        anchored_subject = f"0x{anchor.subject_hash.hex()}" if anchor.subject_hash else "none"
        problems.append(
            f"anchored with subject hash {anchored_subject}, not that of its subject "
            f"{claims.subject}"
        )
    problems.extend(anchoring_time_problems(anchor, claims))
    problems.extend(lot_link_problems(anchor, claims))
    if problems:
        return Check.failed(name, "; ".join(problems))
    assert claims.kind is not None
    return Check.passed(
        name,
        f"anchored by {anchor.issuer} at {instant_of(anchor.anchored_at)} as "
        f"{claims.kind.value} about {claims.subject}",
    )


def anchoring_time_problems(anchor: AnchoredCredential, claims: Claims) -> list[str]:
    """Why the VC's issuanceDate is not its anchoring time, give or take (none when it is)."""
    if claims.issued_at is None:
        return ["it has no valid issuanceDate to hold against its anchoring time"]
    anchored, issued = instant_of(anchor.anchored_at), instant_of(claims.issued_at)
    if anchor.anchored_at > claims.issued_at + ANCHOR_DELAY_LIMIT_S:
        return [
            f"anchored at {anchored}, more than {ANCHOR_DELAY_LIMIT_S} s after its "
            f"issuanceDate {issued}: a backdated credential; issue it anew"
        ]
    if anchor.anchored_at < claims.issued_at - CLOCK_SKEW_S:
        return [
            f"anchored at {anchored}, before its issuanceDate {issued} by more than the "
            f"{CLOCK_SKEW_S} s allowed for clock skew"
        ]
    return []


def lot_link_problems(anchor: AnchoredCredential, claims: Claims) -> list[str]:
    """Why a FitForUse is not tied to the batch of its lot (none when it is, or for other
    types): untied, a quarantine of the lot would leave it valid."""
    if claims.kind is not CredentialType.FIT_FOR_USE:
        return []
    if claims.lot is None:
        return ["a FitForUse must name its lot (credentialSubject.lot)"]
    batch_id = keccak(text=claims.lot)
    linked = anchor.suspends_with_batch
    if linked == batch_id:
        return []
    tied = f"tied to batch 0x{linked.hex()}" if linked is not None else "tied to no batch"
    return [
        f"anchored {tied}, not to its lot {claims.lot} (batch 0x{batch_id.hex()}): a "
        "quarantine of the lot would not suspend it; anchor it with its lot"
    ]


def status_checks(
    status: CredentialStatus,
    anchor: AnchoredCredential | None,
    suspension: Suspension | None,
) -> tuple[Check, Check]:
    if status is CredentialStatus.NONE or anchor is None:
        why = "cannot be shown: CredentialRegistry does not know this credential"
        return (
            Check.failed(CheckName.NOT_REVOKED, why),
            Check.failed(CheckName.NOT_SUSPENDED, why),
        )
    if status is CredentialStatus.REVOKED:
        not_revoked = Check.failed(
            CheckName.NOT_REVOKED,
            "revoked (by its issuer or a governor): CredentialRegistry reads it REVOKED",
        )
    else:
        not_revoked = Check.passed(
            CheckName.NOT_REVOKED, f"not revoked: CredentialRegistry reads it {status.name}"
        )
    if status is CredentialStatus.VALID:
        lot = anchor.suspends_with_batch
        held = f"; its lot 0x{lot.hex()} is neither quarantined nor recalled" if lot else ""
        return not_revoked, Check.passed(
            CheckName.NOT_SUSPENDED, f"not suspended by its issuer or a governor{held}"
        )
    reasons = []
    if suspension is not None and suspension.by_issuer:
        reasons.append("suspended by its issuer")
    if suspension is not None and suspension.by_governor:
        reasons.append("suspended by a governor")
    if (
        suspension is not None
        and suspension.batch_id is not None
        and suspension.batch_status in HELD_STATUSES
    ):
        assert suspension.batch_status is not None
        reasons.append(
            f"suspended while its lot 0x{suspension.batch_id.hex()} is "
            f"{suspension.batch_status.name}"
        )
    if status is CredentialStatus.SUSPENDED and not reasons:
        reasons.append("CredentialRegistry reads it SUSPENDED")
    if reasons:
        return not_revoked, Check.failed(CheckName.NOT_SUSPENDED, "; ".join(reasons))
    return not_revoked, Check.passed(
        CheckName.NOT_SUSPENDED, "not suspended by its issuer or a governor, nor through a held lot"
    )


def issuer_check(
    claims: Claims, anchor: AnchoredCredential | None, history: IssuerHistory
) -> Check:
    """The issuer's standing when the credential was anchored: the chain's time, which the
    issuer cannot choose, unlike the issuanceDate it writes (see `anchoring_time_problems`)."""
    name = CheckName.ISSUER_TRUSTED
    if claims.issuer_problem is not None:
        return Check.failed(name, claims.issuer_problem)
    if claims.kind is None:
        return Check.failed(name, "it names no known credential type to be trusted for")
    if anchor is None:
        return Check.failed(
            name,
            "cannot be judged: trust is judged when a credential is anchored, and this one is not",
        )
    assert claims.issuer_address is not None
    account, kind, at = claims.issuer_address, claims.kind.value, anchor.anchored_at
    when = instant_of(at)
    problems = []
    held, since = history.role_at(account, at)
    if not held:
        problems.append(
            f"{account} did not hold ISSUER_ROLE at {when}, when it was anchored"
            + (f" (revoked at {instant_of(since)})" if since is not None else " (never granted)")
        )
    active, deactivated = history.active_at(account, at)
    if not active:
        assert deactivated is not None
        problems.append(
            f"its organization was deactivated at {instant_of(deactivated)}, so it could use "
            "no role then"
        )
    trusted, _ = history.trusted_at(account, type_hash(kind), at)
    if not trusted:
        problems.append(f"it was not on the trust list for {kind} at {when}, when it was anchored")
    if problems:
        return Check.failed(name, "; ".join(problems))
    granted = f" (granted at {instant_of(since)})" if since is not None else ""
    return Check.passed(
        name,
        f"{account} held ISSUER_ROLE at {when}{granted}, when it was anchored, and was on the "
        f"trust list for {kind} then",
    )


def subject_check(
    claims: Claims, subjects: Mapping[SubjectKey, list[Any]], *, chain_id: int
) -> Check:
    name = CheckName.SUBJECT_BOUND
    if claims.subject is None:
        return Check.failed(name, "credentialSubject.id is not an accepted DID")
    key = claims.subject_key
    if key is None:
        return Check.failed(name, "a lot credential must name its lot (credentialSubject.lot)")
    subject, lot = key
    reads = subjects[key]
    if lot is None and subject.startswith("did:pkh:"):
        _, problem = pkh_account_or_problem(subject, chain_id=chain_id)
        if problem is not None:
            return Check.failed(name, problem)
        device, organization = reads
        if device is not None:
            return Check.passed(
                name, f"{subject} is a device registered by organization {device.owner}"
            )
        if organization is not None:
            return Check.passed(
                name, f"{subject} is the registered organization {organization.name!r}"
            )
        return Check.failed(
            name, f"{subject} is neither a registered device nor a registered organization"
        )
    (binding,) = reads
    if binding is None:
        return Check.failed(
            name, f"{subject} is bound to no ledger entity: bind it (bindSubject) first"
        )
    entity_id = binding.entity_id
    if lot is not None:
        batch_id = keccak(text=lot)
        if entity_id != batch_id:
            return Check.failed(
                name,
                f"{subject} is bound to 0x{entity_id.hex()}, not to lot {lot} "
                f"(batch 0x{batch_id.hex()})",
            )
        return Check.passed(
            name,
            f"{subject} is bound to lot {lot} (batch 0x{batch_id.hex()}) by {binding.bound_by}",
        )
    if entity_id[:12] == bytes(12):
        organization = to_checksum_address(entity_id[12:])
        return Check.passed(name, f"{subject} is bound to organization {organization}")
    return Check.passed(name, f"{subject} is bound to ledger batch 0x{entity_id.hex()}")
