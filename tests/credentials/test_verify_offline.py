"""The in-force interval the verifier caches agrees with `check_expiry` at its edges."""

from __future__ import annotations

from datetime import timedelta

import pytest

from credentials.report import Outcome, check_expiry, in_force_interval
from credentials.types import CredentialType, parse_instant
from tests.credentials.credential_factories import T0, issue_sample

pytestmark = pytest.mark.unit

SECOND = timedelta(seconds=1)


@pytest.mark.parametrize("kind", list(CredentialType), ids=lambda kind: kind.value)
def test_check_expiry_passes_exactly_in_the_interval(kind):
    vc = issue_sample(kind)

    start, end = in_force_interval(vc)

    assert start == T0
    if kind is CredentialType.CALIBRATION_CERTIFICATE:  # the calibration lapses first
        assert end == parse_instant(vc["credentialSubject"]["validUntil"])
    else:
        assert end == T0 + timedelta(days=365)
    passes = {
        moment: check_expiry(vc, now=moment).outcome is Outcome.PASSED
        for moment in (start - SECOND, start, end - SECOND, end)
    }
    assert list(passes.values()) == [False, True, True, False]


def test_no_expiration_date_means_no_end():
    vc = issue_sample(CredentialType.FIT_FOR_USE, expiration_date=None)
    assert in_force_interval(vc) == (T0, None)


@pytest.mark.parametrize(
    "broken",
    [
        {"issuanceDate": "2026-01-01"},
        {"expirationDate": "tomorrow"},
        {"issuanceDate": None},
    ],
)
def test_a_malformed_date_gives_no_interval(broken):
    vc = issue_sample(CredentialType.FIT_FOR_USE) | broken
    assert in_force_interval(vc) is None
    assert check_expiry(vc, now=T0 + SECOND).outcome is Outcome.FAILED


def test_not_a_credential_gives_no_interval():
    assert in_force_interval(["not", "a", "credential"]) is None
