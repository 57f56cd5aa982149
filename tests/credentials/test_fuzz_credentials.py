"""Fuzz the parsers of credentials and presentations from outside: the credential file read
(`json_input.loads`), its hash, the offline checks, and presentation verification. A report
(checks that fail with a reason) or `PresentationRejected` / `InvalidJson`, nothing else."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credentials.errors import PresentationRejected
from credentials.issue import credential_hash
from credentials.presentations import present, verify_presentation
from credentials.report import Check, check_expiry, check_proof, check_schema, in_force_interval
from credentials.types import CredentialType
from ledger_client.epcis.canonical import CanonicalizationError
from ledger_client.json_input import InvalidJson, loads
from tests.credentials.credential_factories import issue_sample, quality
from tests.hostile_json import fuzz, hostile_texts, hostile_values

pytestmark = pytest.mark.unit

CHALLENGE, DOMAIN = "c0ffee", "auditor.example.org"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@cache
def credential() -> dict[str, Any]:
    return issue_sample(CredentialType.CERTIFICATE_OF_ANALYSIS)


@cache
def presentation() -> dict[str, Any]:
    return present(credentials=[credential()], holder=quality(), challenge=CHALLENGE, domain=DOMAIN)


@st.composite
def edited(draw: st.DrawFn, document: dict[str, Any]) -> Any:
    """A hostile value on its own, or put in place of one field (or one field of its
    subject or proof) of a valid signed document."""
    hostile = draw(hostile_values())
    if draw(st.integers(0, 3)) == 0:
        return hostile
    edited = copy.deepcopy(document)
    parent = draw(
        st.sampled_from([edited, *(value for value in edited.values() if isinstance(value, dict))])
    )
    parent[draw(st.sampled_from([*parent, "extra"]))] = hostile
    return edited


def _check_credential(vc: Any) -> None:
    try:
        assert len(credential_hash(vc)) == 32
    except CanonicalizationError:
        pass
    for check in (check_proof(vc), check_schema(vc), check_expiry(vc, now=NOW)):
        assert isinstance(check, Check)
    in_force_interval(vc)


@fuzz
@given(st.data())
def test_credentials_are_checked_or_fail_their_checks(data: st.DataObject):
    _check_credential(data.draw(edited(credential())))


@fuzz
@given(hostile_texts())
def test_credential_files_are_read_and_checked_or_refused(text: bytes):
    try:
        vc = loads(text)
    except InvalidJson:
        return
    _check_credential(vc)


@fuzz
@given(st.data())
def test_presentations_verify_or_are_rejected_with_a_reason(data: st.DataObject):
    try:
        verified = verify_presentation(
            data.draw(edited(presentation())), challenge=CHALLENGE, domain=DOMAIN
        )
    except PresentationRejected as exc:
        assert exc.reason
    else:
        assert verified.holder == quality().did
