"""Dependencies of the HTTP routes, as `Annotated` aliases; `create_app` fills `app.state`."""

from __future__ import annotations

from typing import Annotated, Protocol, runtime_checkable

from fastapi import Depends, Header, HTTPException, Request

from api.auditor_sessions import AuditorRefused, AuditorSessions
from credentials.verify import CredentialVerifier
from oracle_bridge.sources import ReadingIngestor


class HealthProbe(Protocol):
    """What `/healthz` asks of the running bridge."""

    def database_reachable(self) -> bool: ...

    def chain_reachable(self) -> bool: ...

    def inbox_backlog(self) -> int:
        """Accepted readings not yet taken into an anchoring window."""
        ...

    def conditions(self) -> dict[str, str]:
        """Troubles the bridge noticed in itself (name to description); any makes it degraded."""
        ...


@runtime_checkable
class ServedBridge(HealthProbe, Protocol):
    """A running bridge (`oracle_bridge.bridge.Bridge`): its ingestor and its health."""

    # Read-only, so a bridge whose attribute is a concrete `Ingestor` matches too.
    @property
    def ingestor(self) -> ReadingIngestor: ...


def _ingestor(request: Request) -> ReadingIngestor:
    return request.app.state.ingestor


def _health_probe(request: Request) -> HealthProbe | None:
    return request.app.state.health_probe


def _max_body_bytes(request: Request) -> int:
    return request.app.state.max_body_bytes


IngestorDep = Annotated[ReadingIngestor, Depends(_ingestor)]
HealthProbeDep = Annotated[HealthProbe | None, Depends(_health_probe)]
MaxBodyBytesDep = Annotated[int, Depends(_max_body_bytes)]


def _auditor_sessions(request: Request) -> AuditorSessions:
    sessions = request.app.state.auditor_sessions
    if sessions is None:
        raise HTTPException(404, "this server does not authenticate auditors")
    return sessions


AuditorSessionsDep = Annotated[AuditorSessions, Depends(_auditor_sessions)]


def _current_auditor(
    sessions: AuditorSessionsDep, authorization: Annotated[str | None, Header()] = None
) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    try:
        return sessions.auditor(token if scheme.lower() == "bearer" else None)
    except AuditorRefused as exc:
        raise HTTPException(
            exc.status, exc.reason, headers={"WWW-Authenticate": "Bearer"}
        ) from None


CurrentAuditor = Annotated[str, Depends(_current_auditor)]


def _credential_verifier(request: Request) -> CredentialVerifier:
    verifier = request.app.state.credential_verifier
    if verifier is None:
        raise HTTPException(404, "this server does not verify credentials")
    return verifier


CredentialVerifierDep = Annotated[CredentialVerifier, Depends(_credential_verifier)]
