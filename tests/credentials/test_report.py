"""The verification report: fixed check order, fail-closed validity, the offline checks."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from credentials.report import (
    Check,
    CheckName,
    Outcome,
    VerificationReport,
    check_expiry,
    check_proof,
    check_schema,
    offline_report,
)
from credentials.types import CredentialType
from tests.credentials.credential_factories import CHECK_NAMES, T0, issue_sample, quality

pytestmark = pytest.mark.unit


@cache
def fit_for_use() -> dict[str, Any]:
    return issue_sample(CredentialType.FIT_FOR_USE)


@cache
def calibration() -> dict[str, Any]:
    # the calibration lapses 2026-12-15, before the credential's own expiry (2027-01-01)
    return issue_sample(CredentialType.CALIBRATION_CERTIFICATE)


def all_passed() -> VerificationReport:
    return VerificationReport.unchecked().with_checks(
        *(Check.passed(name, "ok") for name in CheckName)
    )


def test_a_report_holds_every_check_in_order_and_starts_unchecked() -> None:
    report = VerificationReport.unchecked()
    assert [check.name.value for check in report.checks] == CHECK_NAMES
    assert {check.outcome for check in report.checks} == {Outcome.NOT_CHECKED}
    assert not report.valid


def test_valid_only_when_every_check_passed() -> None:
    assert all_passed().valid
    for name in CheckName:
        failed = all_passed().with_checks(Check.failed(name, "no"))
        assert not failed.valid
        unchecked = all_passed().with_checks(Check(name, Outcome.NOT_CHECKED, "later"))
        assert not unchecked.valid


def test_chain_checks_are_filled_in_later_without_reordering() -> None:
    offline = offline_report(fit_for_use(), now=T0 + timedelta(days=1))
    assert [c.name.value for c in offline.checks] == CHECK_NAMES
    assert offline.check(CheckName.PROOF).outcome is Outcome.PASSED
    assert offline.check(CheckName.SCHEMA).outcome is Outcome.PASSED
    assert offline.check(CheckName.NOT_EXPIRED).outcome is Outcome.PASSED
    assert offline.check(CheckName.ANCHORED).outcome is Outcome.NOT_CHECKED
    assert not offline.valid  # the chain has not been asked

    chain = [
        Check.passed(name, "on chain")
        for name in (
            CheckName.SUBJECT_BOUND,
            CheckName.ANCHORED,
            CheckName.NOT_REVOKED,
            CheckName.NOT_SUSPENDED,
            CheckName.ISSUER_TRUSTED,
        )
    ]
    complete = offline.with_checks(*chain)
    assert [c.name.value for c in complete.checks] == CHECK_NAMES
    assert complete.valid
    assert offline.check(CheckName.ANCHORED).outcome is Outcome.NOT_CHECKED  # unchanged


def test_report_is_plain_data() -> None:
    report = VerificationReport.unchecked().with_checks(Check.failed(CheckName.PROOF, "bad"))
    assert report.to_json() == {
        "valid": False,
        "checks": [
            {"name": "proof", "outcome": "failed", "detail": "bad"},
            *(
                {"name": name, "outcome": "not_checked", "detail": "not checked"}
                for name in CHECK_NAMES[1:]
            ),
        ],
    }
    with pytest.raises(ValueError, match="CheckName order"):
        VerificationReport(report.checks[::-1])
    with pytest.raises(ValueError):
        Check("made_up", Outcome.PASSED, "")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "outcome", "detail"),
    [
        (T0 - timedelta(seconds=1), Outcome.FAILED, "not valid before 2026-01-01T00:00:00Z"),
        (T0, Outcome.PASSED, "in force until 2027-01-01T00:00:00Z"),
        (datetime(2027, 1, 1, tzinfo=UTC), Outcome.FAILED, "expired at 2027-01-01T00:00:00Z"),
    ],
)
def test_expiry(now: datetime, outcome: Outcome, detail: str) -> None:
    check = check_expiry(fit_for_use(), now=now)
    assert (check.name, check.outcome) == (CheckName.NOT_EXPIRED, outcome)
    assert detail in check.detail


def test_a_calibration_certificate_lapses_with_its_calibration() -> None:
    before = check_expiry(calibration(), now=datetime(2026, 12, 15, 9, 29, tzinfo=UTC))
    assert before.outcome is Outcome.PASSED
    assert "2026-12-15T09:30:00Z" in before.detail
    after = check_expiry(calibration(), now=datetime(2026, 12, 15, 9, 30, tzinfo=UTC))
    assert after.outcome is Outcome.FAILED
    assert "credentialSubject.validUntil" in after.detail


def test_expiry_without_expiration_date_and_bad_dates() -> None:
    credential = issue_sample(CredentialType.FIT_FOR_USE, expiration_date=None)
    assert check_expiry(credential, now=T0 + timedelta(days=9999)).detail == (
        "has no expiration date"
    )
    broken = copy.deepcopy(credential)
    broken["issuanceDate"] = "yesterday"
    assert check_expiry(broken, now=T0).outcome is Outcome.FAILED
    with pytest.raises(ValueError, match="timezone-aware"):
        check_expiry(credential, now=datetime(2026, 1, 2))


@pytest.mark.parametrize(
    ("edit", "detail"),
    [
        (lambda c: c.pop("proof"), "has 0 proofs"),
        (lambda c: c.update(proof=[c["proof"], c["proof"]]), "has 2 proofs"),
        (lambda c: c["proof"].update(proofPurpose="authentication"), "proof purpose"),
        (lambda c: c.update(issuer="did:web:example.com"), "is not a did:pkh"),
        (lambda c: c.update(issuer=c["issuer"].lower()), "is not a did:pkh"),
    ],
)
def test_proof_check_fails_closed(edit: Any, detail: str) -> None:
    credential = copy.deepcopy(fit_for_use())
    edit(credential)
    check = check_proof(credential)
    assert check.outcome is Outcome.FAILED
    assert detail in check.detail


@pytest.mark.parametrize("value", [None, [], "credential", 7])
def test_checks_of_non_objects_fail(value: Any) -> None:
    assert check_proof(value).outcome is Outcome.FAILED
    assert check_schema(value).outcome is Outcome.FAILED
    assert check_expiry(value, now=T0).outcome is Outcome.FAILED


def test_schema_check_names_every_problem_with_its_path() -> None:
    credential = copy.deepcopy(fit_for_use())
    credential["@context"][1]["@vocab"] = "https://example.org/#"
    credential["type"] = ["VerifiableCredential", "Diploma"]
    credential["issuanceDate"] = "2026-01-01"
    check = check_schema(credential)
    assert check.outcome is Outcome.FAILED
    assert "$.type[1]: 'Diploma' is not one of" in check.detail
    assert "$.issuanceDate: '2026-01-01' does not match" in check.detail
    credential["type"] = fit_for_use()["type"]
    credential["issuanceDate"] = fit_for_use()["issuanceDate"]
    assert "$.@context: must be exactly" in check_schema(credential).detail
    assert quality().did in str(check_proof(fit_for_use()).detail)
