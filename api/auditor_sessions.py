"""DID-auth for auditors: one-use challenges, presentations, bearer sessions.

An auditor asks for a challenge, signs a bare verifiable presentation (no credentials)
over it and this API's domain with the key of its `did:pkh` (its chain account), and gets
a bearer token for `session_ttl_s` (15 min by default) or until it logs out. Who may audit
is read from the chain (`Membership.isAuthorized(AUDITOR_ROLE, account)`: the role, held by
an active organization), so the consortium's governor decides and every grant is on
record; the API trusts no list of its own. The role is asked before the costly proof is
checked, and asked again during the session at most `role_cache_s` after the last answer,
so a revocation or a deactivation ends the session within that time. A challenge answers
one presentation only, so a captured presentation cannot be replayed, here or (by its
domain) at another verifier.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from web3 import Web3

from api.errors import AuditorRefused
from credentials.errors import PresentationRejected
from credentials.presentations import VerifiedPresentation, verify_presentation
from ledger_client.chain import CHAIN_UNREACHABLE, chain_refusals
from ledger_client.deployment import Deployment
from ledger_client.membership import MembershipView
from ledger_client.roles import Role

# A bare did:pkh DID-auth presentation is ~800 bytes; a larger body is refused unread.
MAX_PRESENTATION_BYTES = 4096
DEFAULT_SESSION_TTL_S = 900.0
DEFAULT_CHALLENGE_TTL_S = 300.0
# Like the bridge's policy cache: a role change is seen within this long.
DEFAULT_ROLE_CACHE_S = 2.0
# Challenges outstanding at once: 10,000 in 5 minutes is ~33 a second, far above any
# consortium's auditors, and bounds what anonymous callers can make the process hold.
DEFAULT_MAX_CHALLENGES = 10_000


@dataclass(frozen=True)
class Challenge:
    challenge: str
    domain: str
    expires_at: float


@dataclass(frozen=True)
class AuditorSession:
    token: str
    auditor: str  # the holder's DID
    expires_at: float


@dataclass(slots=True)
class _OpenSession:
    session: AuditorSession
    role_confirmed_at: float


class AuditorSessions:
    """Challenges issued and sessions opened by one API process (in memory: a restart
    signs every auditor out, which only costs them a new challenge).

    Challenges and sessions are kept in order of expiry (one lifetime each, issued in
    time order), so the expired ones are dropped from the front as time passes, at a cost
    independent of how many are outstanding.
    """

    def __init__(
        self,
        *,
        domain: str,
        is_auditor: Callable[[str], bool],
        verify: Callable[..., VerifiedPresentation] = verify_presentation,
        challenge_ttl_s: float = DEFAULT_CHALLENGE_TTL_S,
        session_ttl_s: float = DEFAULT_SESSION_TTL_S,
        role_cache_s: float = DEFAULT_ROLE_CACHE_S,
        max_challenges: int = DEFAULT_MAX_CHALLENGES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not domain:
            raise ValueError("auditor sessions need the domain presentations are signed for")
        self.domain = domain
        self._is_auditor = is_auditor
        self._verify = verify
        self._challenge_ttl_s = challenge_ttl_s
        self._session_ttl_s = session_ttl_s
        self._role_cache_s = role_cache_s
        self._max_challenges = max_challenges
        self._clock = clock
        self._lock = threading.Lock()
        self._challenges: OrderedDict[str, float] = OrderedDict()
        self._sessions: OrderedDict[str, _OpenSession] = OrderedDict()

    @property
    def outstanding_challenges(self) -> int:
        """Challenges issued, not yet answered, and not known to have expired."""
        return len(self._challenges)

    def challenge(self) -> Challenge:
        """A fresh challenge for one presentation.

        Raises:
            AuditorRefused: 503 when `max_challenges` are outstanding, with the seconds
                until the oldest expires.
        """
        now = self._clock()
        value = secrets.token_urlsafe(24)
        expires_at = now + self._challenge_ttl_s
        with self._lock:
            self._forget_expired(now)
            if len(self._challenges) >= self._max_challenges:
                oldest = next(iter(self._challenges.values()))
                retry_after_s = max(1, math.ceil(oldest - now))
                raise AuditorRefused(
                    f"{len(self._challenges)} challenges are outstanding, the most this API "
                    f"holds; retry in {retry_after_s} s",
                    status=503,
                    retry_after_s=retry_after_s,
                )
            self._challenges[value] = expires_at
        return Challenge(value, self.domain, expires_at)

    def open(self, presentation: object) -> AuditorSession:
        """A session for the presentation's holder.

        Raises:
            AuditorRefused: 401 for a presentation that does not answer an outstanding
                challenge of this domain or does not verify; 400 for one that is not an
                object or carries credentials; 403 for a holder not authorized as AUDITOR
                on chain; 503 when the chain does not answer.
        """
        if not isinstance(presentation, Mapping):
            raise AuditorRefused("a presentation is a JSON object", status=400)
        challenge = _challenge_of(presentation)
        now = self._clock()
        with self._lock:
            self._forget_expired(now)
            # Consumed before anything else: a challenge is good for one attempt only.
            expires_at = self._challenges.pop(challenge, None) if challenge else None
        if expires_at is None or expires_at <= now:
            raise AuditorRefused(
                "the presentation does not answer an outstanding challenge (used, expired or"
                " never issued); request a new one at POST /api/v1/auth/challenge"
            )
        holder = _bare_holder(presentation)
        # A chain read before the proof: only auditors can make the API check a signature.
        if not self._is_auditor(holder):
            raise AuditorRefused(f"{holder} is not authorized as AUDITOR on chain", status=403)
        try:
            verified = self._verify(presentation, challenge=challenge, domain=self.domain)
        except PresentationRejected as exc:
            raise AuditorRefused(f"presentation rejected: {exc.reason}") from None
        session = AuditorSession(
            secrets.token_urlsafe(32), verified.holder, now + self._session_ttl_s
        )
        with self._lock:
            self._sessions[session.token] = _OpenSession(session, role_confirmed_at=now)
        return session

    def auditor(self, token: str | None) -> str:
        """The DID of the auditor whose session `token` opened, still authorized as AUDITOR
        on chain (asked again once `role_cache_s` has passed since the last answer).

        Raises:
            AuditorRefused: 401 for no token, an unknown one, an expired or closed session,
                or an auditor no longer authorized (the session is closed); 503 when the
                chain does not answer.
        """
        now = self._clock()
        with self._lock:
            self._forget_expired(now)
            found = self._sessions.get(token or "")
        if found is None or found.session.expires_at <= now:
            raise AuditorRefused("no valid auditor session; authenticate with a presentation")
        if now - found.role_confirmed_at >= self._role_cache_s:
            if not self._is_auditor(found.session.auditor):
                self.close(found.session.token)
                raise AuditorRefused(
                    f"{found.session.auditor} is no longer authorized as AUDITOR on chain "
                    "(role revoked or organization deactivated); the session is closed"
                )
            found.role_confirmed_at = now
        return found.session.auditor

    def close(self, token: str | None) -> bool:
        """End the session `token` opened (a logout); False when there was none."""
        with self._lock:
            return self._sessions.pop(token or "", None) is not None

    def _forget_expired(self, now: float) -> None:
        while self._challenges and next(iter(self._challenges.values())) <= now:
            self._challenges.popitem(last=False)
        while self._sessions and next(iter(self._sessions.values())).session.expires_at <= now:
            self._sessions.popitem(last=False)


def _challenge_of(presentation: Mapping[str, object]) -> str | None:
    proof = presentation.get("proof")
    challenge = proof.get("challenge") if isinstance(proof, Mapping) else None
    return challenge if isinstance(challenge, str) else None


def _bare_holder(presentation: Mapping[str, object]) -> str:
    """The holder DID of a presentation that carries no credentials (read, not verified)."""
    carried = presentation.get("verifiableCredential", [])
    if carried != []:
        raise AuditorRefused(
            "a session is opened with a bare DID-auth presentation: it must carry no "
            "verifiableCredential (verify credentials at POST /api/v1/credentials/verify)",
            status=400,
        )
    holder = presentation.get("holder")
    if not isinstance(holder, str):
        raise AuditorRefused("presentation rejected: it names no holder DID")
    return holder


def auditor_role_holder(w3: Web3, deployment: Deployment) -> Callable[[str], bool]:
    """`is_auditor` read from the chain: a did:pkh of this chain whose account is
    authorized as AUDITOR in Membership now (holds the role, and its organization, if it
    is one, is active).

    The returned callable raises `AuditorRefused` (503) when the chain does not answer, and
    `ChainRejected` when it refuses the read (the deployment record is not this chain's).
    """
    membership = MembershipView(w3, deployment)
    prefix = f"did:pkh:eip155:{deployment.chain_id}:"

    def is_auditor(did: str) -> bool:
        address = did.removeprefix(prefix)
        if address == did or not Web3.is_checksum_address(address):
            return False
        try:
            with chain_refusals("Membership.isAuthorized"):
                return membership.is_authorized(Role.AUDITOR, address)
        except CHAIN_UNREACHABLE as exc:
            raise AuditorRefused(
                f"the chain did not answer whether {did} is an auditor "
                f"({type(exc).__name__}); retry shortly",
                status=503,
                retry_after_s=5,
            ) from exc

    return is_auditor
