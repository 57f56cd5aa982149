"""Verifiable presentations: a holder shows credentials and proves control of its DID.

The holder signs with proof purpose `authentication` over the verifier's `challenge` and
`domain` (DID-auth), so a presentation answers one request only: replayed to another
verifier (domain) or for another request (challenge) it is rejected. The verifier must
issue each challenge once and accept it once; that bookkeeping is the caller's.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from credentials import didkit_adapter
from credentials.engine import ProofEngine
from credentials.errors import PresentationRejected
from credentials.identities import Signer, controls, is_supported_did
from credentials.types import VC_CONTEXT_V1
from ledger_client.json_input import InvalidJson, check_depth


@dataclass(frozen=True)
class VerifiedPresentation:
    """A presentation whose holder proved control of `holder` for this challenge and
    domain. The credentials are as presented: verify each one on its own (report)."""

    holder: str
    credentials: tuple[dict[str, Any], ...]


def present(
    *,
    credentials: Sequence[Mapping[str, Any]],
    holder: Signer,
    challenge: str,
    domain: str,
    presentation_id: str | None = None,
    engine: ProofEngine = didkit_adapter,
) -> dict[str, Any]:
    """A presentation of `credentials` signed by `holder` for one verifier's request.

    `challenge` is the verifier's nonce and `domain` the verifier (e.g. its host name).

    Raises:
        ValueError: the challenge or domain is empty.
        ProofEngineError: signing failed.
    """
    _require_text(challenge=challenge, domain=domain)
    presentation = {
        "@context": [VC_CONTEXT_V1],
        "id": presentation_id if presentation_id is not None else f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiablePresentation"],
        "holder": holder.did,
        "verifiableCredential": [dict(credential) for credential in credentials],
    }
    options = holder.proof_options(purpose="authentication", challenge=challenge, domain=domain)
    return engine.issue_presentation(presentation, proof_options=options, jwk=holder.jwk)


def verify_presentation(
    presentation: object,
    *,
    challenge: str,
    domain: str,
    engine: ProofEngine = didkit_adapter,
) -> VerifiedPresentation:
    """Check a presentation answers this verifier's `challenge` at `domain` and is signed
    for authentication by a key of its holder; the credentials it carries are returned
    unverified.

    Raises:
        PresentationRejected: with the reason, e.g. the challenge of another request.
        ValueError: the expected challenge or domain is empty.
    """
    _require_text(challenge=challenge, domain=domain)
    if not isinstance(presentation, Mapping):
        raise PresentationRejected("a presentation is a JSON object")
    try:
        check_depth(presentation)
    except InvalidJson as exc:
        raise PresentationRejected(str(exc)) from None
    holder = presentation.get("holder")
    if not is_supported_did(holder):
        raise PresentationRejected(
            f"holder {holder!r} is not a did:pkh (EIP-155, checksummed) or did:key DID"
        )
    proof = presentation.get("proof")
    if not isinstance(proof, Mapping):
        raise PresentationRejected("the presentation needs exactly one proof object")
    if proof.get("proofPurpose") != "authentication":
        raise PresentationRejected(
            f"proof purpose is {proof.get('proofPurpose')!r}; sign with 'authentication'"
        )
    if proof.get("challenge") != challenge:
        raise PresentationRejected(
            f"it answers challenge {proof.get('challenge')!r}, not this request's "
            f"{challenge!r}: a replay or a stale presentation; request a new one"
        )
    if proof.get("domain") != domain:
        raise PresentationRejected(
            f"it was made for domain {proof.get('domain')!r}, not {domain!r}: "
            "a presentation made for another verifier"
        )
    method = proof.get("verificationMethod")
    if not controls(holder, method):
        raise PresentationRejected(f"signed by {method!r}, which is not a key of {holder}")
    options = {"proofPurpose": "authentication", "challenge": challenge, "domain": domain}
    result = engine.verify_presentation(presentation, proof_options=options)
    if not result.passed:
        raise PresentationRejected(f"proof does not verify: {'; '.join(result.errors)}")
    carried = presentation.get("verifiableCredential", [])
    carried = [carried] if isinstance(carried, Mapping) else carried
    if not isinstance(carried, list) or not all(isinstance(c, Mapping) for c in carried):
        raise PresentationRejected("verifiableCredential must hold credential objects")
    return VerifiedPresentation(holder, tuple(dict(c) for c in carried))


def _require_text(**values: str) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"the {name} must be a non-empty string")
