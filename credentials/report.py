"""The verification report of a credential, as pure data, and its offline checks.

A report always holds the eight checks of `CheckName`, in that order, each passed, failed
or not checked; it starts with every check not checked and is valid only once every one
has passed (fail closed). Checks that need the chain (anchored, not revoked, not
suspended, issuer trusted, subject bound) are filled in with `with_checks` by the module
that reads the chain; this one provides the offline ones: proof, schema and expiry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from credentials import didkit_adapter
from credentials.engine import ProofEngine
from credentials.identities import controls, is_supported_did
from credentials.types import CredentialType, parse_instant, schema_problems
from ledger_client.json_input import InvalidJson, check_depth


class CheckName(StrEnum):
    """The checks of a verification report, in report order."""

    PROOF = "proof"
    SCHEMA = "schema"
    ANCHORED = "anchored"
    NOT_REVOKED = "not_revoked"
    NOT_SUSPENDED = "not_suspended"
    ISSUER_TRUSTED = "issuer_trusted"
    NOT_EXPIRED = "not_expired"
    SUBJECT_BOUND = "subject_bound"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome; `detail` says what was found, in words fit for an auditor."""

    name: CheckName
    outcome: Outcome
    detail: str

    def __post_init__(self) -> None:
        # Plain strings are accepted and checked: only the eight names and three outcomes exist.
        object.__setattr__(self, "name", CheckName(self.name))
        object.__setattr__(self, "outcome", Outcome(self.outcome))

    @classmethod
    def passed(cls, name: CheckName, detail: str) -> Check:
        return cls(name, Outcome.PASSED, detail)

    @classmethod
    def failed(cls, name: CheckName, detail: str) -> Check:
        return cls(name, Outcome.FAILED, detail)

    def to_json(self) -> dict[str, str]:
        return {"name": self.name.value, "outcome": self.outcome.value, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """Every check of `CheckName`, in its order. Build with `unchecked()` and `with_checks`."""

    checks: tuple[Check, ...]

    def __post_init__(self) -> None:
        if [check.name for check in self.checks] != list(CheckName):
            raise ValueError("a report holds each CheckName once, in CheckName order")

    @classmethod
    def unchecked(cls) -> VerificationReport:
        """A report where nothing has been checked yet (not valid)."""
        return cls(tuple(Check(name, Outcome.NOT_CHECKED, "not checked") for name in CheckName))

    def with_checks(self, *checks: Check) -> VerificationReport:
        """This report with `checks` replacing the checks of the same names."""
        by_name = {check.name: check for check in checks}
        return replace(self, checks=tuple(by_name.get(c.name, c) for c in self.checks))

    def check(self, name: CheckName) -> Check:
        """The check called `name`."""
        return next(check for check in self.checks if check.name == name)

    @property
    def valid(self) -> bool:
        """True only when every check passed: a check not done counts against validity."""
        return all(check.outcome is Outcome.PASSED for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "checks": [check.to_json() for check in self.checks]}


LiveStatus = Literal["VALID", "REVOKED", "SUSPENDED", "EXPIRED", "NOT_ANCHORED", "INVALID"]

# The checks that name a credential's standing on chain, in the order they decide it.
_STANDING: tuple[tuple[CheckName, LiveStatus], ...] = (
    (CheckName.ANCHORED, "NOT_ANCHORED"),
    (CheckName.NOT_REVOKED, "REVOKED"),
    (CheckName.NOT_SUSPENDED, "SUSPENDED"),
    (CheckName.NOT_EXPIRED, "EXPIRED"),
)


def live_status(report: VerificationReport) -> LiveStatus:
    """One word for a report: what the chain says of the credential, else whether it holds."""
    for name, status in _STANDING:
        if report.check(name).outcome is Outcome.FAILED:
            return status
    return "VALID" if report.valid else "INVALID"


def check_proof(credential: object, *, engine: ProofEngine = didkit_adapter) -> Check:
    """The credential's proof: one `assertionMethod` proof by a key of its issuer (an
    accepted DID), valid over the whole credential. Offline. NOT_CHECKED when the engine
    gave no verdict (e.g. it timed out): the report is not valid, and it is no verdict."""
    name = CheckName.PROOF
    if not isinstance(credential, Mapping):
        return Check.failed(name, "not a JSON object")
    too_deep = _too_deep(credential)
    if too_deep:
        return Check.failed(name, too_deep)
    issuer = credential.get("issuer")
    if not is_supported_did(issuer):
        return Check.failed(
            name, f"issuer {issuer!r} is not a did:pkh (EIP-155, checksummed) or did:key DID"
        )
    proof = credential.get("proof")
    if not isinstance(proof, Mapping):
        count = len(proof) if isinstance(proof, list) else 0
        return Check.failed(name, f"has {count} proofs; exactly one proof object is accepted")
    if proof.get("proofPurpose") != "assertionMethod":
        return Check.failed(
            name, f"proof purpose is {proof.get('proofPurpose')!r}, not 'assertionMethod'"
        )
    method = proof.get("verificationMethod")
    if not controls(issuer, method):
        return Check.failed(name, f"signed by {method!r}, which is not a key of {issuer}")
    result = engine.verify_credential(credential, proof_options={"proofPurpose": "assertionMethod"})
    if not result.decided:
        # Not a verdict on the credential: not checked (so not valid), and asked again later.
        return Check(
            name,
            Outcome.NOT_CHECKED,
            f"the proof engine gave no verdict ({'; '.join(result.errors)}); verify again",
        )
    if not result.passed:
        return Check.failed(name, f"proof does not verify: {'; '.join(result.errors)}")
    return Check.passed(name, f"signed by {method}")


def check_schema(credential: object) -> Check:
    """The credential's shape: envelope, its type's subject schema, cross-field rules."""
    too_deep = _too_deep(credential)
    if too_deep:
        return Check.failed(CheckName.SCHEMA, too_deep)
    problems = schema_problems(credential)
    if problems:
        return Check.failed(CheckName.SCHEMA, "; ".join(problems))
    assert isinstance(credential, Mapping)
    return Check.passed(CheckName.SCHEMA, f"matches the {credential['type'][1]} schema")


def check_expiry(credential: object, *, now: datetime) -> Check:
    """Whether the credential is in force at `now` (timezone-aware): issued, not past its
    expirationDate and, for a calibration certificate, not past the calibration's
    validUntil (an instrument's calibration lapses with it)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware")
    name = CheckName.NOT_EXPIRED
    if not isinstance(credential, Mapping):
        return Check.failed(name, "not a JSON object")
    try:
        issued = parse_instant(credential.get("issuanceDate"))
    except ValueError as exc:
        return Check.failed(name, f"issuanceDate: {exc}")
    if now < issued:
        return Check.failed(name, f"not valid before {credential['issuanceDate']}")
    in_force_until = []
    for field, text in _expiry_ends(credential):
        try:
            end = parse_instant(text)
        except ValueError as exc:
            return Check.failed(name, f"{field}: {exc}")
        if now >= end:
            return Check.failed(name, f"expired at {text} ({field})")
        in_force_until.append((end, text))
    if not in_force_until:
        return Check.passed(name, "has no expiration date")
    return Check.passed(name, f"in force until {min(in_force_until)[1]}")


def in_force_interval(credential: object) -> tuple[datetime, datetime | None] | None:
    """The instants `[start, end)` at which `check_expiry` passes (end None: it never
    expires); None when it passes at none (a date is missing or malformed). Lets a
    verifier skip re-parsing dates on every check."""
    if not isinstance(credential, Mapping):
        return None
    try:
        start = parse_instant(credential.get("issuanceDate"))
        ends = [parse_instant(text) for _, text in _expiry_ends(credential)]
    except ValueError:
        return None
    return start, min(ends, default=None)


def _too_deep(credential: object) -> str | None:
    """Why the credential is refused unchecked (nested too deep to check safely), or None."""
    try:
        check_depth(credential)
    except InvalidJson as exc:
        return str(exc)
    return None


def _expiry_ends(credential: Mapping[str, Any]) -> list[tuple[str, object]]:
    """The (field, instant) pairs a credential lapses at: its expirationDate and, for a
    calibration certificate, the calibration's validUntil (an instrument's calibration
    lapses with it)."""
    ends: list[tuple[str, object]] = []
    if "expirationDate" in credential:
        ends.append(("expirationDate", credential["expirationDate"]))
    subject = credential.get("credentialSubject")
    types = credential.get("type")
    if (
        isinstance(types, list)
        and CredentialType.CALIBRATION_CERTIFICATE.value in types
        and isinstance(subject, Mapping)
    ):
        ends.append(("credentialSubject.validUntil", subject.get("validUntil")))
    return ends


def offline_report(
    credential: object, *, now: datetime, engine: ProofEngine = didkit_adapter
) -> VerificationReport:
    """A report with the offline checks done (proof, schema, expiry) and the chain checks
    still not checked: never valid on its own."""
    return VerificationReport.unchecked().with_checks(
        check_proof(credential, engine=engine),
        check_schema(credential),
        check_expiry(credential, now=now),
    )
