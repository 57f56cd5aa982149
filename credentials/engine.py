"""The proof engine port: what the credentials layer needs from a DID / VC library.

`credentials.didkit_adapter` implements it with didkit (the module itself satisfies the
protocol); tests may pass an in-memory fake wherever a function takes `engine=`.
JWKs, credentials and presentations cross the port as JSON-shaped Python values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Jwk = Mapping[str, str]
"""A JSON Web Key; a private one carries `d` and must never be logged."""


@dataclass(frozen=True, slots=True)
class ProofVerification:
    """What the engine says of a proof. Fail closed: only `passed` means it holds.

    `decided` is False when the engine gave no verdict (it timed out or failed): `errors`
    then say why, about the engine, not the document; ask again later, never keep it.
    """

    errors: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    decided: bool = True

    @property
    def passed(self) -> bool:
        return not self.errors


class ProofEngine(Protocol):
    """Signs and verifies Linked Data proofs and resolves DIDs, offline.

    Method patterns are didkit's: `"key"` for did:key, `"pkh:eip155:{chainId}"` for
    did:pkh. Proof options are the VC API's (`type`, `proofPurpose`, `verificationMethod`,
    `challenge`, `domain`, ...).
    """

    def key_to_did(self, method_pattern: str, jwk: Jwk) -> str:
        """The DID of `jwk` under a method pattern."""
        ...

    def verification_method(self, method_pattern: str, jwk: Jwk) -> str:
        """The verification method id (DID URL) of `jwk` under a method pattern."""
        ...

    def issue_credential(
        self, credential: Mapping[str, Any], *, proof_options: Mapping[str, Any], jwk: Jwk
    ) -> dict[str, Any]:
        """`credential` with a proof by `jwk` added. Raises `ProofEngineError`."""
        ...

    def verify_credential(
        self, credential: Mapping[str, Any], *, proof_options: Mapping[str, Any]
    ) -> ProofVerification:
        """The credential's proof checked; never raises, for a bad credential or a failing
        engine (then `decided` is False)."""
        ...

    def issue_presentation(
        self, presentation: Mapping[str, Any], *, proof_options: Mapping[str, Any], jwk: Jwk
    ) -> dict[str, Any]:
        """`presentation` with a proof by `jwk` added. Raises `ProofEngineError`."""
        ...

    def verify_presentation(
        self, presentation: Mapping[str, Any], *, proof_options: Mapping[str, Any]
    ) -> ProofVerification:
        """The presentation's proof checked; never raises, for a bad presentation or a
        failing engine (then `decided` is False)."""
        ...

    def resolve_did(self, did: str) -> dict[str, Any]:
        """The DID document of `did`. Raises `UnresolvableDid`."""
        ...
