"""Full verification of credentials: the offline checks plus what the chain says, fail closed.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from web3 import Web3
from web3.contract import Contract

from credentials import didkit_adapter
from credentials.engine import ProofEngine
from credentials.errors import UnsupportedDid
from credentials.hashes import subject_hash, type_hash
from credentials.identities import is_supported_did, pkh_account
from credentials.issue import credential_hash
from credentials.registry import AnchoredCredential, CredentialStatus
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
from credentials.types import CredentialType, format_instant, parse_instant
from ledger_client.artifacts import load_artifact
from ledger_client.chain import rpc, rpc_many
from ledger_client.deployment import Deployment
from ledger_client.epcis.canonical import CanonicalizationError
from ledger_client.lifecycle import BatchStatus
from ledger_client.roles import Role

LOT_CREDENTIAL_TYPES = frozenset(
    {
        CredentialType.CERTIFICATE_OF_ANALYSIS,
        CredentialType.FIT_FOR_USE,
        CredentialType.COLD_CHAIN_COMPLIANCE,
    }
)
"""Types about a lot: their subject must be bound to the batch of the claims' `lot`."""
CLOCK_SKEW_S = 300
"""How far an issuanceDate may run ahead of the anchoring block's time: the issuer's clock
against the chain's (NTP drift, a node's block-time slack), never more."""
ANCHOR_DELAY_LIMIT_S = 3600
"""How long after its issuanceDate a credential may be anchored: `issue_and_anchor` sends
the anchor right after signing, and an hour covers a congested chain or a resubmission. A
later anchor means a backdated date, which would let an issuer dated before its removal
from the trust list pass as trusted then."""
CACHE_LIMIT = 10_000
"""Credentials whose established facts a verifier keeps (the oldest are forgotten first)."""

_ZERO = b"\x00" * 32
_STATUS_MANY = function_signature_to_4byte_selector("statusMany(bytes32[])")
_ROLE_GRANTED = "0x" + keccak(text="RoleGranted(bytes32,address,address)").hex()
_ROLE_REVOKED = "0x" + keccak(text="RoleRevoked(bytes32,address,address)").hex()
_ORGANIZATION_STATUS = "0x" + keccak(text="OrganizationStatusChanged(address,bool)").hex()
_TRUST_CHANGED = "0x" + keccak(text="TrustChanged(address,bytes32,bool,uint64)").hex()
_ISSUER_ROLE = "0x" + Role.ISSUER.id.hex()
_HELD_STATUSES = (BatchStatus.QUARANTINED, BatchStatus.RECALLED, BatchStatus.DESTROYED)


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
        registry = _contract(w3, deployment, "CredentialRegistry")
        self._registry_address = registry.address
        self._membership_address = deployment.address("Membership")
        self._credential = _Function(registry, "credential")
        self._bound_entity = _Function(registry, "boundEntity")
        self._device = _Function(_contract(w3, deployment, "DeviceRegistry"), "device")
        self._organization = _Function(_contract(w3, deployment, "Membership"), "organization")
        self._batch = _Function(_contract(w3, deployment, "ProvenanceLedger"), "batch")
        self._lock = threading.Lock()
        self._known: dict[bytes, _Known] = {}
        self._history = _IssuerHistory(scanned_to=deployment.deploy_block - 1)

    def verify(self, vc: object) -> VerificationReport:
        """The full report of one credential; see `verify_many`."""
        return self.verify_many([vc])[0]

    def verify_many(self, vcs: Sequence[object]) -> list[VerificationReport]:
        """The full report of each credential, in order; `report.valid` only when every
        check passed. A malformed credential gets a report like any other.

        Raises:
            RpcUnavailable, requests.RequestException: the chain did not answer; no verdict
                is given rather than a wrong one.
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
                claims=_Claims.of(vc, chain_id=self.chain_id),
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

        batch = _Batch()
        status_of = batch.add(self._status_many_call(hashes), _decode_statuses)
        anchor_of = {
            h: batch.add(self._credential.call(h), self._anchor_of(h)) for h in need_anchor
        }
        subject_of = {key: self._add_subject_reads(batch, key) for key in subject_keys}
        head_of = (
            batch.add(("eth_getBlockByNumber", ["latest", False]), _head)
            if extend_history
            else None
        )
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

    def _status_many_call(self, hashes: list[bytes]) -> tuple[str, list]:
        data = "0x" + (_STATUS_MANY + encode(["bytes32[]"], [hashes])).hex()
        return "eth_call", [{"to": self._registry_address, "data": data}, "latest"]

    def _anchor_of(self, digest: bytes) -> Callable[[str], AnchoredCredential | None]:
        def decoded(result: str) -> AnchoredCredential | None:
            (
                (
                    issuer,
                    type_id,
                    subject_id,
                    anchored_at,
                    valid_until,
                    batch_id,
                    revoked,
                    held,
                    held_by_governor,
                ),
            ) = self._credential.decode(result)
            if not anchored_at:
                return None
            return AnchoredCredential(
                credential_hash=digest,
                issuer=to_checksum_address(issuer),
                type_hash=type_id,
                subject_hash=subject_id if subject_id != _ZERO else None,
                anchored_at=anchored_at,
                valid_until=valid_until or None,
                suspends_with_batch=batch_id if batch_id != _ZERO else None,
                revoked=revoked,
                suspended=held,
                suspended_by_governor=held_by_governor,
            )

        return decoded

    def _add_subject_reads(self, batch: _Batch, key: _SubjectKey) -> list[int]:
        subject, lot = key
        if lot is None and subject.startswith("did:pkh:"):
            address = subject.rsplit(":", 1)[1]
            return [
                batch.add(self._device.call(address), lambda r: self._device.decode(r)[0]),
                batch.add(
                    self._organization.call(address), lambda r: self._organization.decode(r)[0]
                ),
            ]
        return [
            batch.add(self._bound_entity.call(subject_hash(subject)), self._bound_entity.decode)
        ]

    def _scan_history(self, head: int, head_time: int) -> _IssuerHistory:
        """The membership and trust list history extended to block `head` (scanned once,
        kept)."""
        with self._lock:
            history = self._history
        if head <= history.scanned_to:
            return history
        calls = [
            (
                "eth_getLogs",
                [
                    {
                        "address": [self._membership_address, self._registry_address],
                        "topics": [
                            [_ROLE_GRANTED, _ROLE_REVOKED, _ORGANIZATION_STATUS, _TRUST_CHANGED]
                        ],
                        "fromBlock": hex(start),
                        "toBlock": hex(min(start + self._log_chunk_blocks - 1, head)),
                    }
                ],
            )
            for start in range(history.scanned_to + 1, head + 1, self._log_chunk_blocks)
        ]
        logs = [log for chunk in rpc_many(self.w3, calls) for log in chunk]
        untimed = sorted({log["blockNumber"] for log in logs if "blockTimestamp" not in log})
        if untimed:
            blocks = rpc_many(
                self.w3, [("eth_getBlockByNumber", [number, False]) for number in untimed]
            )
            times = {n: b["timestamp"] for n, b in zip(untimed, blocks, strict=True)}
            logs = [{**log, "blockTimestamp": times.get(log["blockNumber"])} for log in logs]
        extended = history.extended(logs, scanned_to=head, scanned_at=head_time)
        with self._lock:
            if extended.scanned_to > self._history.scanned_to:
                self._history = extended
            return self._history

    def _read_suspensions(
        self, known: Mapping[bytes, _Known], view: _ChainView
    ) -> dict[bytes, _Suspension]:
        """For each credential the registry does not read VALID but knows, whether it is
        suspended and why: REVOKED and EXPIRED hide a suspension in the status."""
        batch = _Batch()
        reads: dict[bytes, tuple[int, int | None]] = {}
        for digest, status in view.statuses.items():
            if status in (CredentialStatus.NONE, CredentialStatus.VALID):
                continue
            anchor = known[digest].anchor or view.anchors.get(digest)
            lot = anchor.suspends_with_batch if anchor is not None else None
            reads[digest] = (
                batch.add(self._credential.call(digest), self._anchor_of(digest)),
                batch.add(self._batch.call(lot), lambda r: BatchStatus(self._batch.decode(r)[0][1]))
                if lot is not None
                else None,
            )
        if not reads:
            return {}
        results = batch.run(self.w3)
        suspensions = {}
        for digest, (fresh, lot_status) in reads.items():
            anchor = results[fresh]
            suspensions[digest] = _Suspension(
                by_issuer=anchor is not None and anchor.suspended,
                by_governor=anchor is not None and anchor.suspended_by_governor,
                batch_id=anchor.suspends_with_batch if anchor is not None else None,
                batch_status=results[lot_status] if lot_status is not None else None,
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
            anchored = _anchored_check(digest, known.anchor, claims, chain_id=self.chain_id)
            if known.anchor is not None:  # what the registry holds of it never changes
                known.anchored = anchored

        issuer = known.issuer
        if issuer is None:
            issuer = _issuer_check(claims, known.anchor, chain.history)
            if (
                claims.issuer_address is None
                or claims.kind is None
                or (known.anchor is not None and chain.history.settles(known.anchor.anchored_at))
            ):
                known.issuer = issuer
        subject = known.subject
        if subject is None:
            subject = _subject_check(claims, chain.subjects, chain_id=self.chain_id)
            if subject.outcome is Outcome.PASSED:
                known.subject = subject

        if status is CredentialStatus.VALID and known.in_good_standing is not None:
            not_revoked, not_suspended = known.in_good_standing
        else:
            suspension = chain.suspensions.get(digest)
            not_revoked, not_suspended = _status_checks(status, known.anchor, suspension)
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
                f"{_instant(until) if until else '(unknown)'} has passed by chain time",
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


# -- what is read, and what is kept -------------------------------------------------------

_SubjectKey = tuple[str, str | None]
"""(subject DID, lot URI for a lot credential): one binding question."""


@dataclass(frozen=True)
class _Claims:
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
    def of(cls, vc: Mapping[str, Any], *, chain_id: int) -> _Claims:
        types = vc.get("type")
        kind = None
        if isinstance(types, list) and len(types) == 2 and isinstance(types[1], str):
            kind = next((member for member in CredentialType if member.value == types[1]), None)
        issuer = vc.get("issuer")
        address, problem = _pkh_account(issuer, chain_id=chain_id)
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
    def subject_key(self) -> _SubjectKey | None:
        if self.subject is None or (self.kind in LOT_CREDENTIAL_TYPES and self.lot is None):
            return None
        return (self.subject, self.lot)


@dataclass
class _Known:
    """What is established about one credential (by hash); chain facts once they hold."""

    proof: Check
    schema: Check
    claims: _Claims
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


@dataclass(frozen=True)
class _Suspension:
    by_issuer: bool
    by_governor: bool
    batch_id: bytes | None
    batch_status: BatchStatus | None


@dataclass(frozen=True)
class _IssuerHistory:
    """ISSUER_ROLE grants and revocations and organization (de)activations per account, and
    trust list changes per (account, type hash), in chain order, as (block timestamp, state
    after), scanned up to block `scanned_to` (timestamp `scanned_at`)."""

    scanned_to: int
    scanned_at: int = 0
    roles: Mapping[str, tuple[tuple[int, bool], ...]] = field(default_factory=dict)
    activity: Mapping[str, tuple[tuple[int, bool], ...]] = field(default_factory=dict)
    trust: Mapping[tuple[str, bytes], tuple[tuple[int, bool], ...]] = field(default_factory=dict)

    def extended(
        self, logs: Iterable[Mapping[str, Any]], *, scanned_to: int, scanned_at: int
    ) -> _IssuerHistory:
        roles = {account: list(changes) for account, changes in self.roles.items()}
        activity = {account: list(changes) for account, changes in self.activity.items()}
        trust = {key: list(changes) for key, changes in self.trust.items()}
        ordered = sorted(
            logs, key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16))
        )
        for log in ordered:
            topics = log["topics"]
            moment = int(log["blockTimestamp"], 16)
            if topics[0] == _ORGANIZATION_STATUS:
                account = _topic_address(topics[1])
                activity.setdefault(account, []).append((moment, int(log["data"], 16) != 0))
            elif topics[0] == _TRUST_CHANGED:
                key = (_topic_address(topics[1]), bytes.fromhex(topics[2].removeprefix("0x")))
                # data: (bool trusted, uint64 at); the first word is the new trust.
                trust.setdefault(key, []).append((moment, int(log["data"][2:66], 16) != 0))
            elif topics[1] == _ISSUER_ROLE:
                account = _topic_address(topics[2])
                roles.setdefault(account, []).append((moment, topics[0] == _ROLE_GRANTED))
        return _IssuerHistory(
            scanned_to=scanned_to,
            scanned_at=scanned_at,
            roles={account: tuple(changes) for account, changes in roles.items()},
            activity={account: tuple(changes) for account, changes in activity.items()},
            trust={key: tuple(changes) for key, changes in trust.items()},
        )

    def settles(self, timestamp: int | None) -> bool:
        """Whether the chain has left second `timestamp` behind: no block to come can
        change what held then."""
        return timestamp is not None and timestamp < self.scanned_at

    def role_at(self, account: str, timestamp: int) -> tuple[bool, int | None]:
        """Whether `account` held ISSUER_ROLE at the end of second `timestamp`, and since
        when that was so (None: never changed)."""
        return _state_at(self.roles.get(account, ()), timestamp, default=False)

    def active_at(self, account: str, timestamp: int) -> tuple[bool, int | None]:
        """Whether `account` was not a deactivated organization then (registration makes
        an organization active; an account that is no organization stands on its roles)."""
        return _state_at(self.activity.get(account, ()), timestamp, default=True)

    def trusted_at(self, account: str, type_id: bytes, timestamp: int) -> tuple[bool, int | None]:
        """Whether `account` was on the trust list for type hash `type_id` at the end of
        second `timestamp` (as `CredentialRegistry.trustedAt` answers), and since when."""
        return _state_at(self.trust.get((account, type_id), ()), timestamp, default=False)


@dataclass
class _ChainView:
    """What one `verify_many` read from the chain."""

    statuses: dict[bytes, CredentialStatus] = field(default_factory=dict)
    anchors: dict[bytes, AnchoredCredential | None] = field(default_factory=dict)
    subjects: dict[_SubjectKey, list[Any]] = field(default_factory=dict)
    history: _IssuerHistory = field(default_factory=lambda: _IssuerHistory(-1))
    suspensions: dict[bytes, _Suspension] = field(default_factory=dict)


class _Batch:
    """JSON-RPC calls sent together (one request), each result decoded its own way."""

    def __init__(self) -> None:
        self._calls: list[tuple[str, list]] = []
        self._decoders: list[Callable[[Any], Any]] = []

    def add(self, call: tuple[str, list], decoder: Callable[[Any], Any]) -> int:
        self._calls.append(call)
        self._decoders.append(decoder)
        return len(self._calls) - 1

    def run(self, w3: Web3) -> list[Any]:
        if not self._calls:
            return []
        if len(self._calls) == 1:
            raw = [rpc(w3, *self._calls[0])]
        else:
            raw = rpc_many(w3, self._calls)
        return [decoder(result) for decoder, result in zip(self._decoders, raw, strict=True)]


class _Function:
    """One view function of a contract as raw `eth_call`s: encode the call, decode the result."""

    def __init__(self, contract: Contract, name: str) -> None:
        self._contract = contract
        self._name = name
        outputs = contract.get_function_by_name(name).abi["outputs"]
        self._types = [collapse_if_tuple(output) for output in outputs]

    def call(self, *args: object) -> tuple[str, list]:
        data = self._contract.encode_abi(self._name, args=list(args))
        return "eth_call", [{"to": self._contract.address, "data": data}, "latest"]

    def decode(self, result: str) -> tuple:
        return decode(self._types, bytes.fromhex(result.removeprefix("0x")))


def _contract(w3: Web3, deployment: Deployment, name: str) -> Contract:
    return w3.eth.contract(address=deployment.address(name), abi=load_artifact(name).abi)


def _decode_statuses(result: str) -> list[CredentialStatus]:
    (statuses,) = decode(["uint8[]"], bytes.fromhex(result.removeprefix("0x")))
    return [CredentialStatus(status) for status in statuses]


def _head(block: Mapping[str, str]) -> tuple[int, int]:
    return int(block["number"], 16), int(block["timestamp"], 16)


def _chain_order(log: Mapping[str, Any]) -> tuple[int, int]:
    return int(log["blockNumber"], 16), int(log["logIndex"], 16)


def _topic_address(topic: str) -> str:
    return to_checksum_address("0x" + topic[-40:])


def _state_at(
    changes: Sequence[tuple[int, bool]], timestamp: int, *, default: bool
) -> tuple[bool, int | None]:
    state, since = default, None
    for moment, after in changes:
        if moment > timestamp:
            break
        state, since = after, moment
    return state, since


def _pkh_account(did: object, *, chain_id: int) -> tuple[str | None, str | None]:
    """The checksummed account of a did:pkh of this chain, or why `did` is not one."""
    if not is_supported_did(did):
        return None, f"{did!r} is not an accepted DID"
    try:
        return pkh_account(did, chain_id=chain_id), None
    except UnsupportedDid as exc:
        return None, str(exc)


def _instant(timestamp: int) -> str:
    return format_instant(datetime.fromtimestamp(timestamp, UTC))


# -- the checks, pure ---------------------------------------------------------------------


def _anchored_check(
    digest: bytes, anchor: AnchoredCredential | None, claims: _Claims, *, chain_id: int
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
    problems.extend(_anchoring_time_problems(anchor, claims))
    problems.extend(_lot_link_problems(anchor, claims))
    if problems:
        return Check.failed(name, "; ".join(problems))
    assert claims.kind is not None
    return Check.passed(
        name,
        f"anchored by {anchor.issuer} at {_instant(anchor.anchored_at)} as "
        f"{claims.kind.value} about {claims.subject}",
    )


def _anchoring_time_problems(anchor: AnchoredCredential, claims: _Claims) -> list[str]:
    """Why the VC's issuanceDate is not its anchoring time, give or take (none when it is)."""
    if claims.issued_at is None:
        return ["it has no valid issuanceDate to hold against its anchoring time"]
    anchored, issued = _instant(anchor.anchored_at), _instant(claims.issued_at)
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


def _lot_link_problems(anchor: AnchoredCredential, claims: _Claims) -> list[str]:
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


def _status_checks(
    status: CredentialStatus,
    anchor: AnchoredCredential | None,
    suspension: _Suspension | None,
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
        and suspension.batch_status in _HELD_STATUSES
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


def _issuer_check(
    claims: _Claims, anchor: AnchoredCredential | None, history: _IssuerHistory
) -> Check:
    """The issuer's standing when the credential was anchored: the chain's time, which the
    issuer cannot choose, unlike the issuanceDate it writes (see `_anchoring_time_problems`)."""
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
    when = _instant(at)
    problems = []
    held, since = history.role_at(account, at)
    if not held:
        problems.append(
            f"{account} did not hold ISSUER_ROLE at {when}, when it was anchored"
            + (f" (revoked at {_instant(since)})" if since is not None else " (never granted)")
        )
    active, deactivated = history.active_at(account, at)
    if not active:
        assert deactivated is not None
        problems.append(
            f"its organization was deactivated at {_instant(deactivated)}, so it could use "
            "no role then"
        )
    trusted, _ = history.trusted_at(account, type_hash(kind), at)
    if not trusted:
        problems.append(f"it was not on the trust list for {kind} at {when}, when it was anchored")
    if problems:
        return Check.failed(name, "; ".join(problems))
    granted = f" (granted at {_instant(since)})" if since is not None else ""
    return Check.passed(
        name,
        f"{account} held ISSUER_ROLE at {when}{granted}, when it was anchored, and was on the "
        f"trust list for {kind} then",
    )


def _subject_check(
    claims: _Claims, subjects: Mapping[_SubjectKey, list[Any]], *, chain_id: int
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
        _, problem = _pkh_account(subject, chain_id=chain_id)
        if problem is not None:
            return Check.failed(name, problem)
        device, organization = reads
        if device[5]:
            return Check.passed(
                name,
                f"{subject} is a device registered by organization "
                f"{to_checksum_address(device[1])}",
            )
        if organization[3]:
            return Check.passed(
                name, f"{subject} is the registered organization {organization[1]!r}"
            )
        return Check.failed(
            name, f"{subject} is neither a registered device nor a registered organization"
        )
    entity_id, bound_by = reads[0]
    if int(bound_by, 16) == 0:
        return Check.failed(
            name, f"{subject} is bound to no ledger entity: bind it (bindSubject) first"
        )
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
            f"{subject} is bound to lot {lot} (batch 0x{batch_id.hex()}) by "
            f"{to_checksum_address(bound_by)}",
        )
    if entity_id[:12] == bytes(12):
        organization = to_checksum_address(entity_id[12:])
        return Check.passed(name, f"{subject} is bound to organization {organization}")
    return Check.passed(name, f"{subject} is bound to ledger batch 0x{entity_id.hex()}")
