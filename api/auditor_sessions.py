"""DID-auth for auditors: one-use challenges, presentations, bearer sessions.

An auditor asks for a challenge, signs a verifiable presentation over it and this API's
domain with the key of its `did:pkh` (its chain account), and gets a bearer token for
`session_ttl_s`. The AUDITOR role is read from the chain (Membership), so who may audit is
decided by the consortium's governor and every grant is on record; the API trusts no list
of its own. A challenge answers one presentation only, so a captured presentation cannot
be replayed, here or (by its domain) at another verifier.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from web3 import Web3

from credentials.errors import PresentationRejected
from credentials.presentations import VerifiedPresentation, verify_presentation
from ledger_client.artifacts import load_artifact
from ledger_client.deployment import Deployment
from ledger_client.roles import Role


class AuditorRefused(Exception):
    """Authentication failed; `status` is the HTTP status to answer with."""

    def __init__(self, reason: str, *, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


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


class AuditorSessions:
    """Challenges issued and sessions opened by one API process (in memory: a restart
    signs every auditor out, which only costs them a new challenge)."""

    def __init__(
        self,
        *,
        domain: str,
        is_auditor: Callable[[str], bool],
        verify: Callable[..., VerifiedPresentation] = verify_presentation,
        challenge_ttl_s: float = 300.0,
        session_ttl_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.domain = domain
        self._is_auditor = is_auditor
        self._verify = verify
        self._challenge_ttl_s = challenge_ttl_s
        self._session_ttl_s = session_ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._challenges: dict[str, float] = {}
        self._sessions: dict[str, AuditorSession] = {}

    def challenge(self) -> Challenge:
        """A fresh challenge for one presentation."""
        now = self._clock()
        value = secrets.token_urlsafe(24)
        with self._lock:
            self._forget_expired(now)
            self._challenges[value] = now + self._challenge_ttl_s
        return Challenge(value, self.domain, now + self._challenge_ttl_s)

    def open(self, presentation: object) -> AuditorSession:
        """A session for the presentation's holder.

        Raises:
            AuditorRefused: 401 for a presentation that does not answer an outstanding
                challenge of this domain or does not verify; 403 for a holder that does
                not hold the AUDITOR role on chain.
        """
        challenge = _challenge_of(presentation)
        now = self._clock()
        with self._lock:
            # Consumed before anything else: a challenge is good for one attempt only.
            expires_at = self._challenges.pop(challenge, None) if challenge else None
        if expires_at is None or expires_at <= now:
            raise AuditorRefused(
                "the presentation does not answer an outstanding challenge (used, expired or"
                " never issued); request a new one at POST /api/v1/auth/challenge"
            )
        try:
            verified = self._verify(presentation, challenge=challenge, domain=self.domain)
        except PresentationRejected as exc:
            raise AuditorRefused(f"presentation rejected: {exc.reason}") from None
        if not self._is_auditor(verified.holder):
            raise AuditorRefused(
                f"{verified.holder} does not hold the AUDITOR role on chain", status=403
            )
        session = AuditorSession(
            secrets.token_urlsafe(32), verified.holder, now + self._session_ttl_s
        )
        with self._lock:
            self._sessions[session.token] = session
        return session

    def auditor(self, token: str | None) -> str:
        """The DID of the auditor whose session `token` opened.

        Raises:
            AuditorRefused: no token, an unknown one, or an expired session (401).
        """
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token or "")
            if session is not None and session.expires_at <= now:
                del self._sessions[session.token]
                session = None
        if session is None:
            raise AuditorRefused("no valid auditor session; authenticate with a presentation")
        return session.auditor

    def _forget_expired(self, now: float) -> None:
        self._challenges = {c: t for c, t in self._challenges.items() if t > now}
        self._sessions = {k: s for k, s in self._sessions.items() if s.expires_at > now}


def _challenge_of(presentation: object) -> str | None:
    if not isinstance(presentation, Mapping):
        return None
    proof = presentation.get("proof")
    challenge = proof.get("challenge") if isinstance(proof, Mapping) else None
    return challenge if isinstance(challenge, str) else None


def auditor_role_holder(w3: Web3, deployment: Deployment) -> Callable[[str], bool]:
    """`is_auditor` read from the chain: a did:pkh of this chain whose account holds
    AUDITOR_ROLE in Membership now."""
    membership = w3.eth.contract(
        address=deployment.address("Membership"), abi=load_artifact("Membership").abi
    )
    prefix = f"did:pkh:eip155:{deployment.chain_id}:"

    def is_auditor(did: str) -> bool:
        address = did.removeprefix(prefix)
        if address == did or not Web3.is_checksum_address(address):
            return False
        return bool(membership.functions.hasRole(Role.AUDITOR.id, address).call())

    return is_auditor
