"""Who a request speaks for: a bearer token of `api.store.tokens` or a DID-auth auditor session,
either way one `Principal` (its id, organization DID and role) for the routes and the trail.

A token is honoured only while its organization is active and holds the token's role on
chain (`Membership.isAuthorized`), asked at most `standing_cache_s` (2 s) after the last
answer, so a revocation or a deactivation is felt within that time. The token's own record
(its organization, role, expiry, revocation) is cached for as long, by the token's digest:
a token revoked with `provenance token revoke` is refused within those 2 s too, and its
expiry is checked on every request.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from web3 import Web3

from api.auditor_sessions import AuditorSessions
from api.errors import AccessRefused
from api.store.tokens import TOKEN_PREFIX, TokenRecord, TokenStore
from credentials.errors import UnsupportedDid
from credentials.identities import pkh_account
from ledger_client.chain import CHAIN_UNREACHABLE, chain_refusals
from ledger_client.deployment import Deployment
from ledger_client.membership import MembershipView
from ledger_client.roles import Role

DEFAULT_STANDING_CACHE_S = 2.0
# Token records cached at most; beyond, the cache starts over (a flood of valid tokens
# costs lookups, never memory).
MAX_CACHED_TOKENS = 10_000

# Why `organization` may not act as `role` on chain now; None when it may.
Standing = Callable[[str, Role], str | None]


@dataclass(frozen=True)
class Principal:
    """Who an authenticated request speaks for. `id` is the token's id, or `session:` and
    a digest of the session token (never the bearer secret itself)."""

    id: str
    organization: str
    role: Role


class Authenticator:
    """Turns a bearer secret into a `Principal`, or refuses it (`AccessRefused`)."""

    def __init__(
        self,
        *,
        tokens: TokenStore | None = None,
        standing: Standing | None = None,
        sessions: AuditorSessions | None = None,
        standing_cache_s: float = DEFAULT_STANDING_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if tokens is not None and standing is None:
            raise ValueError("tokens are honoured only with the chain's standing to check them")
        self._tokens = tokens
        self._standing = standing
        self._sessions = sessions
        self._cache_s = standing_cache_s
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, Role], tuple[str | None, float]] = {}
        self._records: dict[bytes, tuple[TokenRecord, float]] = {}

    def principal(self, bearer: str | None) -> Principal:
        """The principal of `bearer` (the text after `Authorization: Bearer`).

        Raises:
            AccessRefused: 401 for no bearer, an unknown, expired or revoked token or no
                valid session; 403 for a token whose organization is deactivated or no
                longer holds its role on chain; 503 when the chain does not answer.
        """
        if not bearer:
            raise AccessRefused("no bearer token: send `Authorization: Bearer <token>`")
        if bearer.startswith(TOKEN_PREFIX) and self._tokens is not None:
            return self._token_principal(bearer)
        if self._sessions is not None:
            auditor = self._sessions.auditor(bearer)
            digest = hashlib.sha256(bearer.encode()).hexdigest()[:16]
            return Principal(f"session:{digest}", auditor, Role.AUDITOR)
        raise AccessRefused("unknown bearer token: issue one with `provenance token issue`")

    def cached_principal(self, bearer: str | None) -> Principal | None:
        """The principal of token `bearer` when its record and its organization's standing
        are both cached (no I/O: for the event loop); None when `principal` must look
        anything up (a session, an unknown or stale token, a refusal)."""
        if not bearer or self._tokens is None or not bearer.startswith(TOKEN_PREFIX):
            return None
        now = self._clock()
        cached = self._records.get(hashlib.sha256(bearer.encode()).digest())
        if cached is None or now - cached[1] >= self._cache_s:
            return None
        record = cached[0]
        standing = self._answers.get((record.organization, record.role))
        if standing is None or now - standing[1] >= self._cache_s or standing[0] is not None:
            return None
        if record.state(self._now()) != "active":
            return None
        return Principal(record.id, record.organization, record.role)

    def governs(self, organization: str) -> bool:
        """Whether `organization` may act as GOVERNOR now (False without the chain's word)."""
        return self._standing is not None and self.standing(organization, Role.GOVERNOR) is None

    def standing(self, organization: str, role: Role) -> str | None:
        """Why `organization` may not act as `role` now (None: it may), cached."""
        assert self._standing is not None
        now = self._clock()
        key = (organization, role)
        with self._lock:
            cached = self._answers.get(key)
        if cached is not None and now - cached[1] < self._cache_s:
            return cached[0]
        answer = self._standing(organization, role)
        with self._lock:
            self._answers[key] = (answer, now)
        return answer

    def _token_record(self, bearer: str) -> TokenRecord | None:
        """The stored record of `bearer`, read at most `standing_cache_s` ago; unknown
        tokens are not cached (one issued since is honoured at once)."""
        assert self._tokens is not None
        key = hashlib.sha256(bearer.encode()).digest()
        now = self._clock()
        cached = self._records.get(key)
        if cached is not None and now - cached[1] < self._cache_s:
            return cached[0]
        record = self._tokens.find(bearer)
        if record is not None:
            with self._lock:
                if len(self._records) >= MAX_CACHED_TOKENS:
                    self._records.clear()
                self._records[key] = (record, now)
        return record

    def _token_principal(self, bearer: str) -> Principal:
        record = self._token_record(bearer)
        if record is None:
            raise AccessRefused("unknown bearer token: issue one with `provenance token issue`")
        state = record.state(self._now())
        if state != "active":
            raise AccessRefused(f"token {record.id} is {state}; ask for a new one")
        reason = self.standing(record.organization, record.role)
        if reason is not None:
            raise AccessRefused(f"token {record.id} is not honoured: {reason}", status=403)
        return Principal(record.id, record.organization, record.role)


def chain_standing(w3: Web3, deployment: Deployment) -> Standing:
    """`Standing` read from Membership: an organization (a did:pkh of this chain) may act as
    a role when `isAuthorized(role, account)`; else the reason says whether it is
    deactivated or lacks the role.

    The returned callable raises `AccessRefused` (503) when the chain does not answer, and
    `ChainRejected` when it refuses the read (the deployment record is not this chain's).
    """
    membership = MembershipView(w3, deployment)

    def standing(organization: str, role: Role) -> str | None:
        try:
            account = pkh_account(organization, chain_id=deployment.chain_id)
        except UnsupportedDid as exc:
            return str(exc)
        try:
            with chain_refusals("Membership.isAuthorized"):
                if membership.is_authorized(role, account):
                    return None
                registered = membership.organization(account)
        except CHAIN_UNREACHABLE as exc:
            raise AccessRefused(
                f"the chain did not answer whether {organization} holds {role.name} "
                f"({type(exc).__name__}); retry shortly",
                status=503,
                retry_after_s=5,
            ) from exc
        if registered is not None and not registered.active:
            return f"organization {organization} is deactivated on chain"
        return f"{organization} does not hold {role.name} on chain"

    return standing
