"""Exceptions of `credentials`: one root, specific subclasses, messages that say what to do."""

from __future__ import annotations

from collections.abc import Sequence

from ledger_client.errors import ProvenanceError


class CredentialError(ProvenanceError):
    """Root of every error raised by `credentials`."""


class ProofEngineError(CredentialError):
    """The proof engine (didkit) failed or did not answer; the message carries its reason."""


class ProofEngineUnavailable(ProofEngineError):
    """The proof engine gave no answer at all (it timed out or broke down): nothing is known
    of the document; try again."""


class InvalidKey(CredentialError):
    """A private key is malformed: not 32 bytes / 64 hex digits, or not a secp256k1 scalar."""


class UnsupportedDid(CredentialError):
    """A DID is malformed or of a method this system does not accept (see `identities`)."""


class UnresolvableDid(CredentialError):
    """A DID of a supported method could not be resolved to a DID document."""


class UnknownCredentialType(CredentialError):
    """A credential type is not one of `types.CredentialType`."""


class InvalidCredential(CredentialError):
    """A credential (or the inputs to build one) breaks its schema.

    `problems` lists each violation as `"<JSON path>: <what is wrong>"`.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class InvalidClaims(InvalidCredential):
    """The claims about the subject break the credential type's schema."""


class KeystoreError(CredentialError):
    """Root of the keystore errors."""


class PassphraseRefused(KeystoreError):
    """The keystore passphrase is missing, a placeholder or too short."""


class WrongPassphrase(KeystoreError):
    """The passphrase does not open this keystore file."""


class KeystoreUnreadable(KeystoreError):
    """The keystore file is missing or not a keystore (v3 JSON)."""


class KeystoreExists(KeystoreError):
    """A keystore file is already at the path; keys are never overwritten."""


class PresentationRejected(CredentialError):
    """A verifiable presentation failed verification; `reason` says why, fit for a response."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"presentation rejected: {reason}")
        self.reason = reason
