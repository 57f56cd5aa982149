"""Dependencies of the HTTP routes, as `Annotated` aliases; `create_app` fills `app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol, runtime_checkable

from fastapi import Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from api.auditor_sessions import AuditorSessions
from api.capture import CaptureDesk
from api.errors import AccessRefused
from api.principals import Authenticator, Principal
from api.rate_limit import RateLimiter, retry_after_header
from credentials.verify import CredentialVerifier
from ledger_client.epcis_query.archive import EventArchive
from ledger_client.indexer.queries import BatchHistory, Direction
from ledger_client.indexer.trace import RecallScope, Trace
from ledger_client.roles import Role
from oracle_bridge.batch_readings import (
    DeviceSummary,
    ProofCheck,
    ReadingsPage,
    TemperatureSeries,
)
from oracle_bridge.config import (
    DEFAULT_HTTP_MAX_BODY_BYTES,
    DEFAULT_HTTP_MAX_READINGS,
    DEFAULT_MAX_MESSAGE_BYTES,
    BridgeSettings,
)
from oracle_bridge.sources import ReadingIngestor


class HealthProbe(Protocol):
    """What `/healthz` asks of the running bridge."""

    def database_reachable(self) -> bool: ...

    def chain_reachable(self) -> bool:
        """Whether the chain's node can be reached; raises `ChainRejected` when it answers
        with a refusal."""
        ...

    def inbox_backlog(self) -> int:
        """Accepted readings not yet taken into an anchoring window."""
        ...

    def conditions(self) -> dict[str, str]:
        """Troubles the bridge noticed in itself (name to description); any makes it degraded."""
        ...


@runtime_checkable
class ServedBridge(HealthProbe, Protocol):
    """A running bridge (`oracle_bridge.bridge.Bridge`): its ingestor, settings and health."""

    # Read-only, so a bridge whose attribute is a concrete `Ingestor` matches too.
    @property
    def ingestor(self) -> ReadingIngestor: ...

    @property
    def settings(self) -> BridgeSettings: ...


@dataclass(frozen=True)
class ReadingLimits:
    """What one `POST /api/v1/readings` may carry; beyond any, it is refused with 413."""

    body_bytes: int = DEFAULT_HTTP_MAX_BODY_BYTES
    readings: int = DEFAULT_HTTP_MAX_READINGS
    reading_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    @classmethod
    def of(cls, settings: BridgeSettings) -> ReadingLimits:
        """The limits the bridge's settings set (`PROVENANCE_BRIDGE_HTTP_MAX_BODY_BYTES`,
        `..._HTTP_MAX_READINGS`, `..._MAX_MESSAGE_BYTES`)."""
        return cls(
            body_bytes=settings.http_max_body_bytes,
            readings=settings.http_max_readings,
            reading_bytes=settings.max_message_bytes,
        )


def _ingestor(request: Request) -> ReadingIngestor:
    return request.app.state.ingestor


def _health_probe(request: Request) -> HealthProbe | None:
    return request.app.state.health_probe


def _reading_limits(request: Request) -> ReadingLimits:
    return request.app.state.reading_limits


IngestorDep = Annotated[ReadingIngestor, Depends(_ingestor)]
HealthProbeDep = Annotated[HealthProbe | None, Depends(_health_probe)]
ReadingLimitsDep = Annotated[ReadingLimits, Depends(_reading_limits)]


def _auditor_sessions(request: Request) -> AuditorSessions:
    sessions = request.app.state.auditor_sessions
    if sessions is None:
        raise HTTPException(404, "this server does not authenticate auditors")
    return sessions


AuditorSessionsDep = Annotated[AuditorSessions, Depends(_auditor_sessions)]


def refusal(exc: AccessRefused) -> HTTPException:
    """The HTTP answer to a refused authentication."""
    headers = {"WWW-Authenticate": "Bearer"}
    if exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    return HTTPException(exc.status, exc.reason, headers=headers)


# The dependencies below that do no I/O are `async def`: FastAPI runs a plain `def` one in
# its thread pool, a hand-off per dependency per request (bench/api.py).


async def _bearer_token(authorization: Annotated[str | None, Header()] = None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token if scheme.lower() == "bearer" else None


BearerToken = Annotated[str | None, Depends(_bearer_token)]


async def _current_principal(request: Request, token: BearerToken) -> Principal:
    """The request's principal, also left on `request.state` for the access trail. Known
    from the authenticator's caches without I/O, or else looked up in a worker thread."""
    authenticator: Authenticator | None = request.app.state.authenticator
    if authenticator is None:
        raise HTTPException(404, "this server authenticates no one")
    try:
        principal = authenticator.cached_principal(token)
        if principal is None:
            principal = await run_in_threadpool(authenticator.principal, token)
    except AccessRefused as exc:
        raise refusal(exc) from None
    request.state.principal = principal
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is not None and (wait_s := limiter.admit(principal.id)) is not None:
        raise HTTPException(
            429,
            f"too many requests from {principal.id}; retry in {retry_after_header(wait_s)} s",
            headers={"Retry-After": retry_after_header(wait_s)},
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_current_principal)]


async def _current_auditor(principal: CurrentPrincipal) -> str:
    if principal.role is not Role.AUDITOR:
        raise HTTPException(
            403, f"this needs the AUDITOR role; {principal.id} acts as {principal.role.name}"
        )
    return principal.organization


# The DID of the authenticated auditor (an auditor's token or DID-auth session).
CurrentAuditor = Annotated[str, Depends(_current_auditor)]


async def _credential_verifier(request: Request) -> CredentialVerifier:
    verifier = request.app.state.credential_verifier
    if verifier is None:
        raise HTTPException(404, "this server does not verify credentials")
    return verifier


CredentialVerifierDep = Annotated[CredentialVerifier, Depends(_credential_verifier)]


async def _current_operator(principal: CurrentPrincipal) -> Principal:
    if principal.role is not Role.OPERATOR:
        raise HTTPException(
            403, f"this needs the OPERATOR role; {principal.id} acts as {principal.role.name}"
        )
    return principal


# The authenticated principal, who acts as OPERATOR.
CurrentOperator = Annotated[Principal, Depends(_current_operator)]


async def _capture_desk(request: Request) -> CaptureDesk:
    desk = request.app.state.capture_desk
    if desk is None:
        raise HTTPException(404, "this server does not capture EPCIS events")
    return desk


CaptureDeskDep = Annotated[CaptureDesk, Depends(_capture_desk)]


async def _event_archive(request: Request) -> EventArchive:
    archive = request.app.state.event_archive
    if archive is None:
        raise HTTPException(404, "this server serves no EPCIS events")
    return archive


EventArchiveDep = Annotated[EventArchive, Depends(_event_archive)]


class LotsReader(Protocol):
    """The read model's lots, items and genealogy (`ledger_client.indexer.lots.ReadModelLots`).
    Each raises `TraceRefused` for a malformed request and `UnknownObject` for an unknown id."""

    def batch(self, identifier: str) -> BatchHistory: ...

    def trace(self, identifier: str, *, direction: Direction | str, depth: int) -> Trace: ...

    def recall_scope(self, identifier: str, *, depth: int) -> RecallScope: ...


class ReadingsReader(Protocol):
    """The bridge's stored readings and their proofs (`oracle_bridge.batch_readings`)."""

    def page(self, batch_id: bytes, *, offset: int, limit: int) -> ReadingsPage: ...

    def summary(self, batch_id: bytes) -> list[DeviceSummary]: ...

    def temperatures(self, batch_id: bytes) -> TemperatureSeries: ...

    def proof(self, device: str, seq: int) -> ProofCheck:
        """Raises `ReadingNotFound` or `ReadingNotAnchored`."""
        ...


async def _lots(request: Request) -> LotsReader:
    lots = request.app.state.lots
    if lots is None:
        raise HTTPException(404, "this server does not serve the ledger's read model")
    return lots


async def _readings_reader(request: Request) -> ReadingsReader | None:
    return request.app.state.readings_reader


LotsDep = Annotated[LotsReader, Depends(_lots)]
# None when the node runs no bridge: readings are then not served.
ReadingsReaderDep = Annotated[ReadingsReader | None, Depends(_readings_reader)]
