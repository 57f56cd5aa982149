"""`CredentialVerifier`: the offline checks plus what the chain says, fail closed, with what
cannot change remembered per credential.

`CredentialVerifier.verify_many` fills every check of `report.CheckName`:

- proof, schema, not_expired: `report`'s offline checks (expiry by the verifier's clock,
  and by the chain when the registry already reads the credential EXPIRED);
- anchored: `CredentialRegistry.credential(hash)` exists and names the VC's issuer account,
  type and subject; it was anchored no earlier than `CLOCK_SKEW_S` before the VC's
  issuanceDate and no later than `ANCHOR_DELAY_LIMIT_S` after it (so the date the issuer
  wrote is the anchoring time, give or take); a FitForUse is tied to the batch of its lot
  (`suspendsWithBatch`), so a quarantine of the lot suspends it;
- not_revoked, not_suspended: `CredentialRegistry.statusMany` now (a suspension is the
  issuer's own, a governor's, or follows a held lot);
- issuer_trusted: the issuer is a did:pkh account of this chain that could use ISSUER_ROLE
  when the credential was anchored (the anchoring block's time, never the issuanceDate the
  issuer wrote) and was on the registry's trust list for the type then (Membership's
  RoleGranted / RoleRevoked and OrganizationStatusChanged logs and the registry's
  TrustChanged logs, up to the end of that second);
- subject_bound: a did:pkh subject is a registered device or organization; any other
  subject DID is bound on chain (`boundEntity`), and the subject of a lot credential is
  bound to exactly the batch of the lot its claims name.

What cannot change is remembered per credential hash: the proof and schema results (not a
proof the engine gave no verdict on, e.g. a timeout: that is asked again), the anchor
record, an issuer verdict about a second the chain has left behind, and a subject binding
once found. A warm `verify_many` therefore asks the chain for the statuses only,
in one `eth_call`, and checks expiry by the clock; a cold one reads everything else it
needs in one JSON-RPC batch, plus the membership and trust logs it has not scanned yet. Statuses
other than VALID cost one more batch, which says why (the issuer's suspension or the
lot's, including one that REVOKED or EXPIRED hides).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from web3 import Web3

from credentials import didkit_adapter
from credentials.engine import ProofEngine
from credentials.issue import credential_hash
from credentials.registry import AnchoredCredential, CredentialRegistryView, CredentialStatus
from credentials.report import (
    Check,
    CheckName,
    Outcome,
    VerificationReport,
    check_expiry,
    check_proof,
    check_schema,
    in_force_interval,
)
from credentials.verify.checks import (
    Suspension,
    anchored_check,
    instant_of,
    issuer_check,
    status_checks,
    subject_check,
)
from credentials.verify.claims import Claims, SubjectKey
from credentials.verify.history import IssuerHistory, history_logs
from ledger_client.deployment import Deployment
from ledger_client.device_registry import DeviceRegistryView
from ledger_client.epcis.canonical import CanonicalizationError
from ledger_client.ledger import LedgerView
from ledger_client.membership import MembershipView
from ledger_client.reads import Read, ReadBatch

CACHE_LIMIT = 10_000
"""Credentials whose established facts a verifier keeps (the oldest are forgotten first)."""

# (number, timestamp) of the chain's head.
_LATEST_BLOCK = Read(
    "eth_getBlockByNumber",
    ["latest", False],
    lambda block: (int(block["number"], 16), int(block["timestamp"], 16)),
)


class CredentialVerifier:
    """Verifies credentials against their proofs and the deployment's contracts.

    One verifier per deployment, long-lived, so its caches pay off; safe to share between
    threads. `clock` (Unix seconds) decides expiry; `log_chunk_blocks` caps the blocks of
    one `eth_getLogs` (nodes such as Besu refuse wider ranges).
    """

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        *,
        engine: ProofEngine = didkit_adapter,
        clock: Callable[[], float] = time.time,
        log_chunk_blocks: int = 2_000,
    ) -> None:
        if log_chunk_blocks < 1:
            raise ValueError("log_chunk_blocks must be at least 1")
        self.w3 = w3
        self.deployment = deployment
        self.chain_id = deployment.chain_id
        self._engine = engine
        self._clock = clock
        self._log_chunk_blocks = log_chunk_blocks
        self._registry = CredentialRegistryView(w3, deployment)
        self._membership = MembershipView(w3, deployment)
        self._devices = DeviceRegistryView(w3, deployment)
        self._ledger = LedgerView(w3, deployment)
        self._lock = threading.Lock()
        self._known: dict[bytes, _Known] = {}
        self._history = IssuerHistory(scanned_to=deployment.deploy_block - 1)

    def verify(self, vc: object) -> VerificationReport:
        """The full report of one credential; see `verify_many`."""
        return self.verify_many([vc])[0]

    def verify_many(self, vcs: Sequence[object]) -> list[VerificationReport]:
        """The full report of each credential, in order; `report.valid` only when every
        check passed. A malformed credential gets a report like any other.

        Raises:
            `ledger_client.chain.CHAIN_UNREACHABLE`: the chain did not answer; no verdict is
                given rather than a wrong one.
            ChainRejected: the chain refused a read (its deployment record is not this
                chain's); no verdict either.
        """
        now = datetime.fromtimestamp(self._clock(), UTC)
        items = [self._offline(vc) for vc in vcs]
        known = {
            item.credential_hash: item.known
            for item in items
            if item.credential_hash is not None and item.known is not None
        }
        chain = self._read_chain(known)
        reports = []
        for item in items:
            if item.known is None:
                reports.append(_unhashable_report(item, now=now, engine=self._engine))
                continue
            reports.append(self._report(item, chain, now=now))
        return reports

    # -- offline -------------------------------------------------------------------------

    def _offline(self, vc: object) -> _Item:
        """The credential's hash and what is known of it, with proof and schema checked
        once per hash."""
        if not isinstance(vc, Mapping):
            return _Item(vc, None, None, "it is not a JSON object")
        try:
            digest = credential_hash(vc)
        except CanonicalizationError as exc:
            return _Item(vc, None, None, f"it cannot be canonicalised to be hashed ({exc})")
        with self._lock:
            known = self._known.get(digest)
        if known is not None and known.proof.outcome is Outcome.NOT_CHECKED:
            # The engine gave no verdict last time (a timeout): ask it again, never keep that.
            known.proof = check_proof(vc, engine=self._engine)
        if known is None:
            known = _Known(
                proof=check_proof(vc, engine=self._engine),
                schema=check_schema(vc),
                claims=Claims.of(vc, chain_id=self.chain_id),
                in_force=in_force_interval(vc),
            )
            with self._lock:
                known = self._known.setdefault(digest, known)
                while len(self._known) > CACHE_LIMIT:
                    del self._known[next(iter(self._known))]
        return _Item(vc, digest, known, None)

    # -- chain reads ---------------------------------------------------------------------

    def _read_chain(self, known: Mapping[bytes, _Known]) -> _ChainView:
        """Statuses of every credential, and whatever else is not established yet."""
        hashes = list(known)
        if not hashes:
            return _ChainView()
        need_anchor = [h for h, k in known.items() if k.anchor is None]
        need_issuer = [h for h, k in known.items() if k.issuer is None]
        need_subject = {h: k.claims for h, k in known.items() if k.subject is None}
        subject_keys = {c.subject_key for c in need_subject.values() if c.subject_key is not None}
        history = self._history
        # Trust is judged at the anchoring time, which a credential not yet known to be
        # anchored may turn out to have after the history scanned so far.
        extend_history = any(
            (anchor := known[h].anchor) is None or not history.settles(anchor.anchored_at)
            for h in need_issuer
        )

        batch = ReadBatch()
        status_of = batch.add(self._registry.status_many_read(hashes))
        anchor_of = {h: batch.add(self._registry.credential_read(h)) for h in need_anchor}
        subject_of = {key: self._add_subject_reads(batch, key) for key in subject_keys}
        head_of = batch.add(_LATEST_BLOCK) if extend_history else None
        results = batch.run(self.w3)

        view = _ChainView(statuses=dict(zip(hashes, results[status_of], strict=True)))
        view.anchors = {h: results[i] for h, i in anchor_of.items()}
        view.subjects = {key: [results[i] for i in indexes] for key, indexes in subject_of.items()}
        anchored_at = [
            anchor.anchored_at
            for h in need_issuer
            if (anchor := known[h].anchor or view.anchors.get(h)) is not None
        ]
        if head_of is not None and any(not history.settles(at) for at in anchored_at):
            history = self._scan_history(*results[head_of])
        view.history = history
        view.suspensions = self._read_suspensions(known, view)
        return view

    def _add_subject_reads(self, batch: ReadBatch, key: SubjectKey) -> list[int]:
        subject, lot = key
        if lot is None and subject.startswith("did:pkh:"):
            address = subject.rsplit(":", 1)[1]
            return [
                batch.add(self._devices.device_read(address)),
                batch.add(self._membership.organization_read(address)),
            ]
        return [batch.add(self._registry.bound_entity_read(subject))]

    def _scan_history(self, head: int, head_time: int) -> IssuerHistory:
        """The membership and trust list history extended to block `head` (scanned once,
        kept)."""
        with self._lock:
            history = self._history
        if head <= history.scanned_to:
            return history
        logs = history_logs(
            self.w3,
            addresses=[self._membership.address, self._registry.address],
            first_block=history.scanned_to + 1,
            last_block=head,
            chunk_blocks=self._log_chunk_blocks,
        )
        extended = history.extended(logs, scanned_to=head, scanned_at=head_time)
        with self._lock:
            if extended.scanned_to > self._history.scanned_to:
                self._history = extended
            return self._history

    def _read_suspensions(
        self, known: Mapping[bytes, _Known], view: _ChainView
    ) -> dict[bytes, Suspension]:
        """For each credential the registry does not read VALID but knows, whether it is
        suspended and why: REVOKED and EXPIRED hide a suspension in the status."""
        batch = ReadBatch()
        reads: dict[bytes, tuple[int, int | None]] = {}
        for digest, status in view.statuses.items():
            if status in (CredentialStatus.NONE, CredentialStatus.VALID):
                continue
            anchor = known[digest].anchor or view.anchors.get(digest)
            lot = anchor.suspends_with_batch if anchor is not None else None
            reads[digest] = (
                batch.add(self._registry.credential_read(digest)),
                batch.add(self._ledger.batch_read(lot)) if lot is not None else None,
            )
        if not reads:
            return {}
        results = batch.run(self.w3)
        suspensions = {}
        for digest, (fresh, lot_status) in reads.items():
            anchor = results[fresh]
            suspensions[digest] = Suspension(
                by_issuer=anchor is not None and anchor.suspended,
                by_governor=anchor is not None and anchor.suspended_by_governor,
                batch_id=anchor.suspends_with_batch if anchor is not None else None,
                batch_status=results[lot_status].status if lot_status is not None else None,
            )
        return suspensions

    # -- the report ----------------------------------------------------------------------

    def _report(self, item: _Item, chain: _ChainView, *, now: datetime) -> VerificationReport:
        digest, known = item.credential_hash, item.known
        assert digest is not None and known is not None
        claims = known.claims
        status = chain.statuses[digest]
        if status is CredentialStatus.NONE:  # a chain reset: the registry forgot it
            known.anchor, known.anchored, known.in_good_standing = None, None, None
            known.issuer = None
        elif known.anchor is None:
            known.anchor = chain.anchors.get(digest)
        anchored = known.anchored
        if anchored is None:
            anchored = anchored_check(digest, known.anchor, claims, chain_id=self.chain_id)
            if known.anchor is not None:  # what the registry holds of it never changes
                known.anchored = anchored

        issuer = known.issuer
        if issuer is None:
            issuer = issuer_check(claims, known.anchor, chain.history)
            if (
                claims.issuer_address is None
                or claims.kind is None
                or (known.anchor is not None and chain.history.settles(known.anchor.anchored_at))
            ):
                known.issuer = issuer
        subject = known.subject
        if subject is None:
            subject = subject_check(claims, chain.subjects, chain_id=self.chain_id)
            if subject.outcome is Outcome.PASSED:
                known.subject = subject

        if status is CredentialStatus.VALID and known.in_good_standing is not None:
            not_revoked, not_suspended = known.in_good_standing
        else:
            suspension = chain.suspensions.get(digest)
            not_revoked, not_suspended = status_checks(status, known.anchor, suspension)
            if status is CredentialStatus.VALID:
                known.in_good_standing = not_revoked, not_suspended
        return VerificationReport(
            (
                known.proof,
                known.schema,
                anchored,
                not_revoked,
                not_suspended,
                issuer,
                self._expiry(item.vc, known, status, now=now),
                subject,
            )
        )

    @staticmethod
    def _expiry(vc: object, known: _Known, status: CredentialStatus, *, now: datetime) -> Check:
        """`check_expiry`, by the clock; its pass is reused while `now` stays in force."""
        start, end = known.in_force or (None, None)
        expiry = known.in_force_check
        if expiry is None or start is None or now < start or (end is not None and now >= end):
            expiry = check_expiry(vc, now=now)
            if expiry.outcome is Outcome.PASSED:
                known.in_force_check = expiry
        if expiry.outcome is Outcome.PASSED and status is CredentialStatus.EXPIRED:
            until = known.anchor.valid_until if known.anchor is not None else None
            expiry = Check.failed(
                CheckName.NOT_EXPIRED,
                "CredentialRegistry reads it EXPIRED: its anchored validUntil "
                f"{instant_of(until) if until else '(unknown)'} has passed by chain time",
            )
        return expiry


def _unhashable_report(item: _Item, *, now: datetime, engine: ProofEngine) -> VerificationReport:
    """Nothing on chain can be about a credential without a hash: every chain check fails."""
    why = f"cannot be looked up on chain: {item.problem}"
    return VerificationReport.unchecked().with_checks(
        check_proof(item.vc, engine=engine),
        check_schema(item.vc),
        check_expiry(item.vc, now=now),
        *(
            Check.failed(name, why)
            for name in (
                CheckName.ANCHORED,
                CheckName.NOT_REVOKED,
                CheckName.NOT_SUSPENDED,
                CheckName.ISSUER_TRUSTED,
                CheckName.SUBJECT_BOUND,
            )
        ),
    )


@dataclass
class _Known:
    """What is established about one credential (by hash); chain facts once they hold."""

    proof: Check
    schema: Check
    claims: Claims
    # [start, end) of `check_expiry` passing, and its passed check once seen.
    in_force: tuple[datetime, datetime | None] | None
    in_force_check: Check | None = None
    anchor: AnchoredCredential | None = None
    anchored: Check | None = None
    # not_revoked and not_suspended while the registry reads it VALID.
    in_good_standing: tuple[Check, Check] | None = None
    issuer: Check | None = None
    subject: Check | None = None


@dataclass(frozen=True)
class _Item:
    vc: object
    credential_hash: bytes | None
    known: _Known | None
    problem: str | None


@dataclass
class _ChainView:
    """What one `verify_many` read from the chain."""

    statuses: dict[bytes, CredentialStatus] = field(default_factory=dict)
    anchors: dict[bytes, AnchoredCredential | None] = field(default_factory=dict)
    subjects: dict[SubjectKey, list[Any]] = field(default_factory=dict)
    history: IssuerHistory = field(default_factory=lambda: IssuerHistory(-1))
    suspensions: dict[bytes, Suspension] = field(default_factory=dict)
