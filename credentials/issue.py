"""Issuing credentials: build the VC, check it against its schema, sign it; and its hash.

`credential_hash` of the signed credential is what `CredentialRegistry` anchors.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from credentials import didkit_adapter
from credentials.engine import ProofEngine
from credentials.errors import InvalidClaims, InvalidCredential
from credentials.identities import Signer
from credentials.types import (
    CredentialType,
    credential_context,
    format_instant,
    schema_problems,
)
from credentials.types import credential_type as parse_credential_type
from ledger_client.epcis.canonical import canonicalize
from ledger_client.hashing import keccak256


def issue(
    *,
    credential_type: CredentialType | str,
    subject_did: str,
    claims: Mapping[str, Any],
    signer: Signer,
    issuance_date: datetime | None = None,
    expiration_date: datetime | None = None,
    credential_id: str | None = None,
    engine: ProofEngine = didkit_adapter,
) -> dict[str, Any]:
    """A signed verifiable credential of `credential_type` about `subject_did`.

    `claims` are the `credentialSubject` members besides `id` (see `schemas/<type>.json`).
    The issuer is `signer.did`. Dates are timezone-aware (kept to the second, in UTC);
    `issuance_date` defaults to now, `credential_id` to a fresh `urn:uuid:`.

    Raises:
        UnknownCredentialType: `credential_type` is not a `CredentialType`.
        InvalidClaims: the claims break the type's schema; `problems` has JSON paths.
        InvalidCredential: the other inputs do (dates, ids, the issuer's DID).
        ValueError: a date is naive.
        ProofEngineError: signing failed.
    """
    kind = parse_credential_type(credential_type)
    if "id" in claims:
        raise InvalidClaims(
            "claims must not hold 'id': the subject is `subject_did`", ["$.credentialSubject.id"]
        )
    credential: dict[str, Any] = {
        "@context": credential_context(),
        "id": credential_id if credential_id is not None else f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", kind.value],
        "issuer": signer.did,
        "issuanceDate": format_instant(issuance_date or datetime.now(UTC)),
        "credentialSubject": {"id": subject_did, **claims},
    }
    if expiration_date is not None:
        credential["expirationDate"] = format_instant(expiration_date)
    _require_valid(kind, credential)
    return engine.issue_credential(
        credential, proof_options=signer.proof_options(purpose="assertionMethod"), jwk=signer.jwk
    )


def credential_hash(credential: Mapping[str, Any]) -> bytes:
    """keccak256 of the RFC 8785 canonical JSON of the whole signed credential, proof
    included (32 bytes): the value anchored on chain.

    Raises:
        CanonicalizationError: the credential holds a value JSON cannot carry exactly.
    """
    return keccak256(canonicalize(credential))


def _require_valid(kind: CredentialType, credential: dict[str, Any]) -> None:
    problems = schema_problems(credential)
    if not problems:
        return
    subject = [p for p in problems if p.startswith("$.credentialSubject")]
    if subject:
        raise InvalidClaims(
            f"{kind.value} claims do not match schemas/{kind.value}.json: "
            f"{'; '.join(subject)}; fix the claims",
            problems,
        )
    raise InvalidCredential(
        f"{kind.value} credential is invalid: {'; '.join(problems)}; fix these inputs", problems
    )
