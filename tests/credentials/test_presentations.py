"""Presentations: DID-auth over a challenge and domain; replays and tampering are rejected."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest

from credentials import didkit_adapter
from credentials.errors import CredentialError, PresentationRejected
from credentials.presentations import present, verify_presentation
from credentials.report import Outcome, check_proof
from credentials.types import CredentialType
from tests.credentials.credential_factories import asset, issue_sample, outsider, quality

pytestmark = pytest.mark.unit

CHALLENGE = "3f6c1a52-8d1e-4a7b-9c0e-2b5d7f9a1c34"
DOMAIN = "auditor.example.org"


@cache
def credentials() -> tuple[dict[str, Any], ...]:
    return (
        issue_sample(CredentialType.CERTIFICATE_OF_ANALYSIS),
        issue_sample(CredentialType.FIT_FOR_USE),
    )


@cache
def presentation() -> dict[str, Any]:
    return present(credentials=credentials(), holder=quality(), challenge=CHALLENGE, domain=DOMAIN)


def test_presentation_verifies_for_its_challenge_and_domain() -> None:
    signed = presentation()
    assert signed["holder"] == quality().did
    assert signed["type"] == ["VerifiablePresentation"]
    assert signed["proof"]["proofPurpose"] == "authentication"
    assert (signed["proof"]["challenge"], signed["proof"]["domain"]) == (CHALLENGE, DOMAIN)
    verified = verify_presentation(signed, challenge=CHALLENGE, domain=DOMAIN)
    assert verified.holder == quality().did
    assert verified.credentials == credentials()
    assert all(check_proof(c).outcome is Outcome.PASSED for c in verified.credentials)


def test_an_asset_did_key_can_present() -> None:
    signed = present(credentials=credentials()[1:], holder=asset(), challenge="c", domain="d")
    assert verify_presentation(signed, challenge="c", domain="d").holder == asset().did


def test_replay_with_another_challenge_fails() -> None:
    with pytest.raises(PresentationRejected, match="answers challenge") as caught:
        verify_presentation(presentation(), challenge="another-request", domain=DOMAIN)
    assert "replay" in caught.value.reason
    assert isinstance(caught.value, CredentialError)


def test_replay_to_another_verifier_fails() -> None:
    with pytest.raises(PresentationRejected, match="made for domain") as caught:
        verify_presentation(presentation(), challenge=CHALLENGE, domain="evil.example.com")
    assert "another verifier" in caught.value.reason


@pytest.mark.parametrize(
    ("field", "value"), [("challenge", "another-request"), ("domain", "evil.example.com")]
)
def test_rewriting_the_proofs_challenge_or_domain_breaks_the_signature(
    field: str, value: str
) -> None:
    replayed = copy.deepcopy(presentation())
    replayed["proof"][field] = value
    expected = {"challenge": CHALLENGE, "domain": DOMAIN, field: value}
    with pytest.raises(PresentationRejected, match="proof does not verify"):
        verify_presentation(replayed, **expected)


def test_tampering_with_a_carried_credential_breaks_the_presentation() -> None:
    tampered = copy.deepcopy(presentation())
    tampered["verifiableCredential"][0]["credentialSubject"]["conclusion"] = "does-not-conform"
    with pytest.raises(PresentationRejected, match="proof does not verify"):
        verify_presentation(tampered, challenge=CHALLENGE, domain=DOMAIN)


def test_holder_must_sign_with_its_own_key() -> None:
    claimed = copy.deepcopy(presentation())
    claimed["holder"] = outsider().did
    with pytest.raises(PresentationRejected, match="not a key of"):
        verify_presentation(claimed, challenge=CHALLENGE, domain=DOMAIN)
    claimed["proof"]["verificationMethod"] = outsider().verification_method
    with pytest.raises(PresentationRejected, match="proof does not verify"):
        verify_presentation(claimed, challenge=CHALLENGE, domain=DOMAIN)


def test_a_presentation_signed_for_another_purpose_is_rejected() -> None:
    unsigned = {k: v for k, v in presentation().items() if k != "proof"}
    options = quality().proof_options(purpose="assertionMethod", challenge=CHALLENGE, domain=DOMAIN)
    asserted = didkit_adapter.issue_presentation(unsigned, proof_options=options, jwk=quality().jwk)
    with pytest.raises(PresentationRejected, match="sign with 'authentication'"):
        verify_presentation(asserted, challenge=CHALLENGE, domain=DOMAIN)


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda p: p.pop("proof"), "exactly one proof"),
        (lambda p: p.update(proof=[p["proof"]]), "exactly one proof"),
        (lambda p: p.update(holder="did:web:example.com"), "is not a did:pkh"),
        (lambda p: p.pop("holder"), "is not a did:pkh"),
    ],
)
def test_malformed_presentations_are_rejected(edit: Any, reason: str) -> None:
    malformed = copy.deepcopy(presentation())
    edit(malformed)
    with pytest.raises(PresentationRejected, match=reason):
        verify_presentation(malformed, challenge=CHALLENGE, domain=DOMAIN)
    with pytest.raises(PresentationRejected, match="JSON object"):
        verify_presentation([presentation()], challenge=CHALLENGE, domain=DOMAIN)


def test_challenge_and_domain_are_required() -> None:
    with pytest.raises(ValueError, match="challenge"):
        present(credentials=(), holder=quality(), challenge="", domain=DOMAIN)
    with pytest.raises(ValueError, match="domain"):
        verify_presentation(presentation(), challenge=CHALLENGE, domain="")
