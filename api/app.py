"""The HTTP application: `create_app(bridge)` for a member node (`provenance serve`, `bridge run`),
OpenAPI at `/docs`, metrics at `/metrics`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from api.auditor_sessions import AuditorSessions
from api.capture import CaptureDesk
from api.config import DEFAULT_PROOF_BURST, DEFAULT_PROOF_RATE_PER_S
from api.deps import HealthProbe, LotsReader, ReadingLimits, ReadingsReader, ServedBridge
from api.errors import AccessRefused
from api.metrics import Metrics, NodeStatus, RequestMetrics
from api.principals import Authenticator, Standing
from api.quality import QualityDesk, QuarantineRecords
from api.rate_limit import RateLimiter
from api.routes import (
    auditors,
    capture,
    credentials,
    epcis_events,
    health,
    lots,
    metrics,
    principal,
    qr,
    quarantines,
    readings,
    resolver,
    scan,
    trail,
)
from api.routes.resolver import Catalogue
from api.scan.answers import ScanAnswers
from api.scan.credentials import LotCredentials
from api.store.tokens import TokenStore
from api.store.trail import TrailStore
from api.trail import TrailRecorder
from api.trail_commit import GroupCommit
from credentials.store import CredentialStore
from credentials.verify import CredentialVerifier
from ledger_client.epcis_query.archive import EventArchive
from ledger_client.errors import ChainRejected
from oracle_bridge.sources import ReadingIngestor

_log = logging.getLogger(__name__)


def _operation_id(route: APIRoute) -> str:
    """Stable OpenAPI operation ids, `{tag}-{function}`, for generated clients."""
    return f"{route.tags[0]}-{route.name}"


def create_app(
    bridge_or_ingestor: ServedBridge | ReadingIngestor | None = None,
    *,
    limits: ReadingLimits | None = None,
    auditor_sessions: AuditorSessions | None = None,
    credential_verifier: CredentialVerifier | None = None,
    tokens: TokenStore | None = None,
    standing: Standing | None = None,
    trail_store: TrailStore | None = None,
    public_base_url: str = "http://127.0.0.1:8000",
    catalogue: Catalogue | None = None,
    quarantine_records: QuarantineRecords | None = None,
    quality_desk: QualityDesk | None = None,
    credential_store: CredentialStore | None = None,
    capture_desk: CaptureDesk | None = None,
    event_archive: EventArchive | None = None,
    node_status: NodeStatus | None = None,
    embedded_dev_chain: bool = False,
    lot_reads: LotsReader | None = None,
    readings_reader: ReadingsReader | None = None,
    rate_limiter: RateLimiter | None = None,
    scan_public_details: bool = False,
    scan_answers: ScanAnswers | None = None,
    proof_limiter: RateLimiter | None = None,
) -> FastAPI:
    """The FastAPI app of a member node; each collaborator given turns on its routes.

    - `bridge_or_ingestor`: a `Bridge` (its ingestor takes the readings within the limits its
      settings set, and it answers `/healthz`) or a bare ingestor; None: no reading ingress.
    - `auditor_sessions`: auditors authenticate by DID-auth (`/api/v1/auth/...`);
      `credential_verifier`: they verify credentials; with a `credential_store` too, users
      list the credentials about a subject.
    - `tokens` (and the chain's `standing` of organizations): users present bearer tokens;
      `trail_store`: every authenticated request is appended to the access trail (a group
      commit, `app.state.trail_commit`, closed when the app shuts down).
    - `capture_desk`: operators capture EPCIS documents; `event_archive`: users query the
      indexed events and their proofs.
    - `quarantine_records`: users list quarantines; `quality_desk` (the organization's key):
      its quality users acknowledge excursions and release batches.
    - `catalogue` (the read model): the server's root resolves scanned GS1 Digital Links to
      the scan pages; QR codes encode them on `public_base_url` (no trailing slash).
      Each step's event record and the raw readings are shown only with a bearer token,
      unless `scan_public_details`; `scan_answers` keeps built answers between changes;
      `proof_limiter` bounds each client address's proofs, which read the chain.
    - `lot_reads` (the read model): users read batches, traces and recall scopes;
      `readings_reader` (the bridge's store): readings and their proofs.
    - `rate_limiter`: each principal's requests beyond its budget are answered 429.
    - `node_status`: `/metrics` reports the node's figures beside its request counts;
      `embedded_dev_chain` marks the embedded development chain of `provenance serve`
      (`app.state.embedded_dev_chain`), where dev-only conveniences may be offered.
    """
    ingestor: ReadingIngestor | None
    probe: HealthProbe | None
    if isinstance(bridge_or_ingestor, ServedBridge):
        ingestor, probe = bridge_or_ingestor.ingestor, bridge_or_ingestor
        limits = limits or ReadingLimits.of(bridge_or_ingestor.settings)
    else:
        ingestor, probe = bridge_or_ingestor, None
    commit = GroupCommit(trail_store) if trail_store is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # After uvicorn has answered the requests in flight: nothing waiting stays unwritten.
        if commit is not None:
            commit.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Provenance Ledger",
        summary="Device-signed readings in; provenance, compliance and credentials out.",
        version="0.1.0",
        generate_unique_id_function=_operation_id,
    )
    app.state.ingestor = ingestor
    app.state.public_base_url = public_base_url
    app.state.health_probe = probe
    app.state.reading_limits = limits or ReadingLimits()
    app.state.auditor_sessions = auditor_sessions
    app.state.credential_verifier = credential_verifier
    app.state.quarantine_records = quarantine_records
    app.state.quality_desk = quality_desk
    app.state.credential_store = credential_store
    app.state.capture_desk = capture_desk
    app.state.event_archive = event_archive
    app.state.lots = lot_reads
    app.state.readings_reader = readings_reader
    app.state.authenticator = (
        Authenticator(tokens=tokens, standing=standing, sessions=auditor_sessions)
        if tokens is not None or auditor_sessions is not None
        else None
    )
    app.state.embedded_dev_chain = embedded_dev_chain
    app.state.rate_limiter = rate_limiter
    app.state.metrics = Metrics(node_status)
    if ingestor is not None:
        app.include_router(readings.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(auditors.router)
    app.include_router(credentials.router)
    app.include_router(principal.router)
    app.include_router(trail.router)
    app.include_router(capture.router)
    app.include_router(epcis_events.router)
    app.include_router(qr.router)
    app.state.catalogue = catalogue
    app.state.scan_public_details = scan_public_details
    app.state.scan_answers = scan_answers or ScanAnswers()
    app.state.lot_credentials = (
        LotCredentials(credential_store, credential_verifier, answers=app.state.scan_answers)
        if credential_store is not None and credential_verifier is not None
        else None
    )
    app.state.proof_limiter = proof_limiter or RateLimiter(
        per_s=DEFAULT_PROOF_RATE_PER_S, burst=DEFAULT_PROOF_BURST
    )
    if catalogue is not None:
        app.include_router(resolver.router)
        app.include_router(scan.router)
    app.include_router(quarantines.router)
    app.include_router(lots.router)
    app.state.trail = trail_store
    app.state.trail_commit = commit
    if commit is not None:
        app.add_middleware(TrailRecorder, log=commit)
    # Outermost: every answer counts, the trail's own refusals included.
    app.add_middleware(RequestMetrics, metrics=app.state.metrics, routes=app.routes)

    @app.exception_handler(AccessRefused)
    async def _refused(request: Request, exc: AccessRefused) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.reason}, status_code=exc.status, headers={"WWW-Authenticate": "Bearer"}
        )

    # The chain answered a read a route needs with a refusal (a revert, a JSON-RPC error):
    # not 503 "retry later", the server's deployment record or node credentials are wrong.
    @app.exception_handler(ChainRejected)
    async def _chain_refused(request: Request, exc: ChainRejected) -> JSONResponse:
        _log.warning("the chain refused a read of %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": f"the chain refused a read this request needs: {exc}"}, status_code=502
        )

    return app
