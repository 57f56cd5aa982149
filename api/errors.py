"""Exceptions of the HTTP API: one root, specific subclasses, messages that say what to do."""

from __future__ import annotations

from ledger_client.errors import ProvenanceError


class ApiError(ProvenanceError):
    """Root of every error raised by `api`."""


class AccessRefused(ApiError):
    """Authentication or authorization failed; `status` is the HTTP status to answer with
    (401, 403, 503), and `retry_after_s` (for 503) when to try again."""

    def __init__(self, reason: str, *, status: int = 401, retry_after_s: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after_s = retry_after_s


class AuditorRefused(AccessRefused):
    """A DID-auth challenge, presentation or session was refused."""


class TokenError(ApiError):
    """A bearer-token command cannot be done as asked (the message says why)."""


class TrailError(ApiError):
    """The access trail cannot be written, read or anchored as asked."""
