"""Issuing: every type signs and verifies offline; any change to a signed credential breaks
its proof; foreign proofs fail; schema-invalid claims are refused; the anchored hash."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path as FilePath
from typing import Any

import pytest
import rfc8785
from eth_utils import keccak

from credentials.errors import (
    CredentialError,
    InvalidClaims,
    InvalidCredential,
    UnknownCredentialType,
)
from credentials.issue import credential_hash, issue
from credentials.report import Outcome, check_proof, check_schema
from credentials.types import VC_CONTEXT_V1, CredentialType, credential_context, schema
from tests.credentials.credential_factories import (
    ITEM,
    LOT,
    T0,
    asset,
    claims,
    issue_sample,
    issuer,
    lab,
    outsider,
    quality,
    subject,
)

pytestmark = pytest.mark.unit

Path = tuple[str | int, ...]


@cache
def signed(kind: CredentialType) -> dict[str, Any]:
    """One signed sample per type, shared (read-only) by the tests of this module."""
    return issue_sample(kind)


def leaves(value: Any, path: Path = ()) -> Iterator[Path]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaves(child, (*path, index))
    else:
        yield path


def members(value: Any, path: Path = ()) -> Iterator[Path]:
    """The path of every object member, at any depth."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key)
            yield from members(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from members(child, (*path, index))


def changed(value: Any) -> Any:
    """A different value of the same kind, keeping a string's form where it can (a digit
    for another digit, else a letter for another letter): the proof, not a parser, must
    notice."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    for wanted in (str.isdigit, str.isalpha):
        for index in range(len(value) - 1, -1, -1):
            char = value[index]
            if wanted(char):
                replacement = str((int(char) + 1) % 10) if char.isdigit() else "ab"[char in "aA"]
                return value[:index] + replacement + value[index + 1 :]
    return value + "x"


def at(document: Any, path: Path) -> tuple[Any, str | int]:
    for step in path[:-1]:
        document = document[step]
    return document, path[-1]


def label(kind: CredentialType, path: Path) -> str:
    return f"{kind.value}:" + "/".join(map(str, path))


LEAF_CASES = [(kind, path) for kind in CredentialType for path in leaves(signed(kind))]
MEMBER_CASES = [(kind, path) for kind in CredentialType for path in members(signed(kind))]


@pytest.mark.parametrize("kind", list(CredentialType))
def test_each_type_issues_and_verifies_offline(kind: CredentialType) -> None:
    credential = signed(kind)
    assert credential["@context"] == [VC_CONTEXT_V1, credential_context()[1]]
    assert credential["type"] == ["VerifiableCredential", kind.value]
    assert credential["issuer"] == issuer(kind).did
    assert credential["issuanceDate"] == "2026-01-01T00:00:00Z"
    assert credential["expirationDate"] == "2027-01-01T00:00:00Z"
    assert credential["credentialSubject"] == {"id": subject(kind), **claims(kind)}
    assert credential["id"].startswith("urn:uuid:")
    assert credential["proof"]["verificationMethod"] == issuer(kind).verification_method
    assert credential["proof"]["type"] == "EcdsaSecp256k1RecoverySignature2020"
    assert check_proof(credential).outcome is Outcome.PASSED
    assert check_schema(credential).outcome is Outcome.PASSED


def test_an_asset_did_key_can_issue_too() -> None:
    credential = issue_sample(CredentialType.FIT_FOR_USE, signer=asset())
    assert credential["proof"]["type"] == "EcdsaSecp256k1Signature2019"
    assert check_proof(credential).outcome is Outcome.PASSED


@pytest.mark.parametrize(
    ("kind", "path"), LEAF_CASES, ids=[label(kind, path) for kind, path in LEAF_CASES]
)
def test_changing_any_leaf_breaks_the_proof(kind: CredentialType, path: Path) -> None:
    tampered = copy.deepcopy(signed(kind))
    parent, key = at(tampered, path)
    parent[key] = changed(parent[key])
    check = check_proof(tampered)
    assert check.outcome is Outcome.FAILED, check.detail


@pytest.mark.parametrize(
    ("kind", "path"), MEMBER_CASES, ids=[label(kind, path) for kind, path in MEMBER_CASES]
)
def test_removing_any_member_is_caught(kind: CredentialType, path: Path) -> None:
    # JSON-LD does not sign term definitions a document never uses (here the inline
    # context's lists for other types), so the schema, which pins @context, catches those.
    tampered = copy.deepcopy(signed(kind))
    parent, key = at(tampered, path)
    del parent[key]
    outcomes = {check_proof(tampered).outcome, check_schema(tampered).outcome}
    assert Outcome.FAILED in outcomes


@pytest.mark.parametrize(
    ("kind", "claim"),
    [
        (CredentialType.CERTIFICATE_OF_ANALYSIS, "tests"),
        (CredentialType.OPERATOR_QUALIFICATION, "scope"),
        (CredentialType.COLD_CHAIN_COMPLIANCE, "anchorTransactions"),
        (CredentialType.FIT_FOR_USE, "basis"),
    ],
)
def test_reordering_a_list_claim_breaks_the_proof(kind: CredentialType, claim: str) -> None:
    # JSON-LD arrays are unordered sets unless the context makes them lists; ours does.
    tampered = copy.deepcopy(signed(kind))
    tampered["credentialSubject"][claim].reverse()
    assert tampered["credentialSubject"][claim] != signed(kind)["credentialSubject"][claim]
    assert check_proof(tampered).outcome is Outcome.FAILED


def test_members_json_ld_would_not_sign_are_caught_by_the_schema() -> None:
    tampered = copy.deepcopy(signed(CredentialType.FIT_FOR_USE))
    tampered["note"] = None
    tampered["credentialSubject"]["@comment"] = "quarantined"
    assert check_proof(tampered).outcome is Outcome.PASSED  # JSON-LD drops both
    schema = check_schema(tampered)
    assert schema.outcome is Outcome.FAILED
    assert "'note' was unexpected" in schema.detail
    assert "$.credentialSubject: Additional properties" in schema.detail


def test_a_proof_by_another_key_fails() -> None:
    genuine = signed(CredentialType.CERTIFICATE_OF_ANALYSIS)
    forged = issue_sample(CredentialType.CERTIFICATE_OF_ANALYSIS, signer=outsider())

    transplanted = copy.deepcopy(genuine)
    transplanted["proof"] = forged["proof"]
    check = check_proof(transplanted)
    assert check.outcome is Outcome.FAILED
    assert "not a key of" in check.detail

    impersonating = copy.deepcopy(forged)
    impersonating["issuer"] = quality().did
    assert check_proof(impersonating).outcome is Outcome.FAILED

    # The outsider's signature, claimed to be by quality's key: recovers the wrong address.
    relabelled = copy.deepcopy(forged)
    relabelled["issuer"] = quality().did
    relabelled["proof"]["verificationMethod"] = quality().verification_method
    check = check_proof(relabelled)
    assert check.outcome is Outcome.FAILED
    assert "proof does not verify" in check.detail


def test_a_proof_by_another_credential_fails() -> None:
    first = signed(CredentialType.FIT_FOR_USE)
    second = issue_sample(CredentialType.FIT_FOR_USE)
    swapped = copy.deepcopy(first)
    swapped["proof"] = second["proof"]
    assert check_proof(swapped).outcome is Outcome.FAILED


INVALID_CLAIMS = [
    (
        CredentialType.CALIBRATION_CERTIFICATE,
        lambda c: c.pop("validUntil"),
        "$.credentialSubject: 'validUntil' is a required property",
    ),
    (
        CredentialType.CALIBRATION_CERTIFICATE,
        lambda c: c.update(validUntil="2025-12-01T00:00:00Z"),
        "$.credentialSubject.validUntil: must be after calibratedAt",
    ),
    (
        CredentialType.CALIBRATION_CERTIFICATE,
        lambda c: c.update(calibratedAt="2025-02-30T00:00:00Z"),
        "$.credentialSubject.calibratedAt:",
    ),
    (
        CredentialType.CALIBRATION_CERTIFICATE,
        lambda c: c.update(calibratedAt="2025-12-15"),
        "$.credentialSubject.calibratedAt: '2025-12-15' does not match",
    ),
    (
        CredentialType.CALIBRATION_CERTIFICATE,
        lambda c: c["range"].update(minMilliC=-300000),
        "$.credentialSubject.range.minMilliC: -300000 is less than the minimum",
    ),
    (
        CredentialType.CALIBRATION_CERTIFICATE,
        lambda c: c["range"].update(maxMilliC=-40000),
        "$.credentialSubject.range.maxMilliC: must be above minMilliC",
    ),
    (
        CredentialType.CERTIFICATE_OF_ANALYSIS,
        lambda c: c["tests"][1].update(passed="yes"),
        "$.credentialSubject.tests[1].passed: 'yes' is not of type 'boolean'",
    ),
    (
        CredentialType.CERTIFICATE_OF_ANALYSIS,
        lambda c: c["tests"][0].update(passed=False),
        "$.credentialSubject.conclusion: is 'conforms' but a test did not pass",
    ),
    (
        CredentialType.CERTIFICATE_OF_ANALYSIS,
        lambda c: c.update(tests=[]),
        "$.credentialSubject.tests: [] should be non-empty",
    ),
    (
        CredentialType.CERTIFICATE_OF_ANALYSIS,
        lambda c: c.update(lot=ITEM),
        "$.credentialSubject.lot: ",
    ),
    (
        CredentialType.CERTIFICATE_OF_ANALYSIS,
        lambda c: c.update(lot=LOT.replace("/10/", "/10/%4c")),  # %4C is "L", not canonical
        "$.credentialSubject.lot: is not in canonical form; use",
    ),
    (
        CredentialType.CERTIFICATE_OF_ANALYSIS,
        lambda c: c.update(lot=LOT.replace("09506000134352", "09506000134353")),
        "$.credentialSubject.lot: GTIN check digit",
    ),
    (
        CredentialType.OPERATOR_QUALIFICATION,
        lambda c: c.update(scope=["a", "a"]),
        "$.credentialSubject.scope: ['a', 'a'] has non-unique elements",
    ),
    (
        CredentialType.COLD_CHAIN_COMPLIANCE,
        lambda c: c.update(mktMilliC=9000),
        "$.credentialSubject.mktMilliC: must lie between",
    ),
    (
        CredentialType.COLD_CHAIN_COMPLIANCE,
        lambda c: c.update(anchorTransactions=["0x" + "AB" * 32]),
        "$.credentialSubject.anchorTransactions[0]: ",
    ),
    (
        CredentialType.COLD_CHAIN_COMPLIANCE,
        lambda c: c.update(readingCount=1.5),
        "$.credentialSubject.readingCount: 1.5 is not of type 'integer'",
    ),
    (
        CredentialType.FIT_FOR_USE,
        lambda c: c.update(fitForUse=True),
        "$.credentialSubject: Additional properties are not allowed ('fitForUse' was",
    ),
]


@pytest.mark.parametrize(
    ("kind", "edit", "message"),
    INVALID_CLAIMS,
    ids=[f"{kind.value}-{index}" for index, (kind, _, _) in enumerate(INVALID_CLAIMS)],
)
def test_schema_invalid_claims_are_refused_with_their_path(
    kind: CredentialType, edit: Any, message: str
) -> None:
    bad = claims(kind)
    edit(bad)
    with pytest.raises(InvalidClaims) as caught:
        issue(credential_type=kind, subject_did=subject(kind), claims=bad, signer=issuer(kind))
    assert message in str(caught.value)
    assert any(problem.startswith("$.credentialSubject") for problem in caught.value.problems)
    assert f"schemas/{kind.value}.json" in str(caught.value)
    assert isinstance(caught.value, CredentialError)


def test_subject_did_must_be_accepted_and_claims_hold_no_id() -> None:
    kind = CredentialType.FIT_FOR_USE
    with pytest.raises(InvalidClaims, match=r"\$\.credentialSubject\.id"):
        issue(credential_type=kind, subject_did="did:web:x", claims=claims(kind), signer=quality())
    with pytest.raises(InvalidClaims, match="must not hold 'id'"):
        issue(
            credential_type=kind,
            subject_did=asset().did,
            claims={**claims(kind), "id": asset().did},
            signer=quality(),
        )


def test_unknown_type_naive_dates_and_bad_envelopes_are_refused() -> None:
    with pytest.raises(UnknownCredentialType, match="use one of: CalibrationCertificate"):
        issue(credential_type="Diploma", subject_did=asset().did, claims={}, signer=quality())
    with pytest.raises(ValueError, match="no timezone"):
        issue_sample(CredentialType.FIT_FOR_USE, issuance_date=datetime(2026, 1, 1))
    with pytest.raises(InvalidCredential, match=r"\$\.expirationDate: must be after") as caught:
        issue_sample(CredentialType.FIT_FOR_USE, expiration_date=T0 - timedelta(days=1))
    assert not isinstance(caught.value, InvalidClaims)
    with pytest.raises(InvalidCredential, match=r"\$\.id: "):
        issue_sample(CredentialType.FIT_FOR_USE, credential_id="not a uri")


def test_issue_accepts_the_type_by_name_and_keeps_given_ids_and_dates() -> None:
    credential = issue(
        credential_type="FitForUse",
        subject_did=asset().did,
        claims=claims(CredentialType.FIT_FOR_USE),
        signer=quality(),
        issuance_date=datetime(2026, 3, 1, 12, 30, 15, 999, tzinfo=UTC),
        credential_id="urn:uuid:00000000-0000-4000-8000-000000000001",
    )
    assert credential["id"] == "urn:uuid:00000000-0000-4000-8000-000000000001"
    assert credential["issuanceDate"] == "2026-03-01T12:30:15Z"
    assert "expirationDate" not in credential


def test_credential_hash_is_keccak_of_the_canonical_signed_credential() -> None:
    credential = signed(CredentialType.COLD_CHAIN_COMPLIANCE)
    digest = credential_hash(credential)
    assert len(digest) == 32
    assert digest == keccak(rfc8785.dumps(credential))
    assert credential_hash(json.loads(json.dumps(credential, indent=2))) == digest
    without_proof = {k: v for k, v in credential.items() if k != "proof"}
    assert credential_hash(without_proof) != digest


def test_two_issues_of_the_same_claims_hash_differently() -> None:
    first = issue_sample(CredentialType.CALIBRATION_CERTIFICATE, signer=lab())
    second = issue_sample(CredentialType.CALIBRATION_CERTIFICATE, signer=lab())
    assert first["id"] != second["id"]
    assert credential_hash(first) != credential_hash(second)


def test_every_type_has_its_schema_and_the_envelope_lists_them_all() -> None:
    envelope = json.loads(
        (FilePath(__file__).parents[2] / "credentials" / "schemas" / "credential.json").read_text()
    )
    listed = envelope["properties"]["type"]["prefixItems"][1]["enum"]
    assert listed == [kind.value for kind in CredentialType]
    for kind in CredentialType:
        assert schema(kind)["$id"] == f"urn:provenance-ledger:schema:{kind.value}"
        assert schema(kind)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
