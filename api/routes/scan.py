"""The scan page: `GET /scan/01/{gtin}[/10/{lot}|/21/{serial}]`, the resolver's default
link. HTML for a browser, the same record as JSON on `Accept: application/json`; what the
public sees, or with an API bearer token also the details (`api.scan.audience`). Answers are
kept until the lot changes (`api.scan.answers`); each step's proof is read from the chain."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.deps import ReadingsReader
from api.rate_limit import RateLimiter, retry_after_header
from api.resolver.request import ResolverSyntaxError, parse_request
from api.routes.resolver import SCANNED_PARAMETER, Catalogue, problem, raw_path
from api.scan.answers import Kept, ScanAnswers
from api.scan.audience import shows_details
from api.scan.caching import cached_html, cached_json, json_body, kept_response
from api.scan.credentials import LotCredentials, ScanCredential
from api.scan.pages import (
    SCAN_PREFIX,
    ColdChain,
    cold_chain,
    lot_page,
    product_page,
    proof_page,
)
from api.scan.record import ScanRecord, product_json, record_json
from ledger_client.chain import CHAIN_UNREACHABLE
from ledger_client.epcis_query.archive import EventArchive
from ledger_client.identifiers import GS1_RESOLVER, DigitalLink, InvalidIdentifier
from ledger_client.indexer.queries import batch_key
from oracle_bridge.batch_readings import ReadingsPage

router = APIRouter(tags=["scan"])
_JSON_MEDIA_TYPES = ("application/json", "application/ld+json")
# The raw readings a member's page lists; the API pages through all of them.
SHOWN_READINGS = 200


@router.get(
    SCAN_PREFIX + "/01/{digital_link:path}",
    response_class=HTMLResponse,
    summary="The scan page of a lot, item or product",
)
async def scan_page(digital_link: str, request: Request) -> Response:
    """What the public sees on scanning a lot's QR code: status, its life on the ledger,
    where it came from and went; with an API bearer token (or when the node shows them to
    everyone) also each step's event record and the raw readings."""
    try:
        scanned = parse_request(raw_path(request).removeprefix(SCAN_PREFIX), [])
    except ResolverSyntaxError as exc:
        return problem(request, 400, f"not a valid GS1 Digital Link: {exc}")
    catalogue: Catalogue = request.app.state.catalogue
    wants_json = any(m in request.headers.get("accept", "") for m in _JSON_MEDIA_TYPES)
    identifier = scanned.identifier
    if identifier is not None:
        details = await _shows_details(request)
        if wants_json:
            kept = await run_in_threadpool(_lot_json, request, identifier, details)
            if kept is not None:
                return kept_response(request, kept, "application/json", private=details)
        else:
            found = await run_in_threadpool(_lot_page_kept, request, identifier, details)
            if found is not None:
                return await _lot_page(request, identifier, details, *found)
    lots = await run_in_threadpool(catalogue.product, scanned.gtin)
    if not lots:
        return problem(request, 404, f"GTIN {scanned.gtin} is not recorded on this ledger")
    unrecorded = identifier or await _scanned_elsewhere(request, catalogue, scanned.gtin)
    uris = [lot.uri for lot in lots]
    if wants_json:
        product_uri = f"{GS1_RESOLVER}/01/{scanned.gtin}"
        scanned_uri = unrecorded.uri if unrecorded else None
        return cached_json(request, product_json(product_uri, lots=uris, scanned=scanned_uri))
    base = request.app.state.public_base_url
    page = product_page(scanned.gtin, uris, unrecorded=unrecorded, public_base_url=base)
    return cached_html(request, page)


async def _shows_details(request: Request) -> bool:
    """Whether the request sees the details; a bearer token is checked off the event loop
    (its standing may be read from the chain)."""
    to_public = request.app.state.scan_public_details
    if to_public or "authorization" not in request.headers:
        return bool(to_public)
    return await run_in_threadpool(shows_details, request, to_public=False)


def _lot_record(request: Request, identifier: DigitalLink) -> Versioned | None:
    """The lot's record, as kept since its last change, and that change's mark; None when
    the lot is not recorded."""
    catalogue: Catalogue = request.app.state.catalogue
    answers: ScanAnswers = request.app.state.scan_answers
    version = catalogue.change(identifier)
    if version is None:
        return None
    slot = ("record", identifier)
    if (kept := answers.get(slot, version)) is None:
        record = catalogue.record(identifier)
        if record is None:
            return None
        kept = answers.keep(slot, version, record)
    return Versioned(kept.value, version)


def _lot_json(request: Request, identifier: DigitalLink, details: bool) -> Kept | None:
    """The lot's record as JSON, as kept since its last change; None when not recorded."""
    catalogue: Catalogue = request.app.state.catalogue
    answers: ScanAnswers = request.app.state.scan_answers
    version = catalogue.change(identifier)
    if version is None:
        return None
    slot = ("json", identifier, details)
    if (kept := answers.get(slot, version)) is not None:
        return kept
    lot = _lot_record(request, identifier)
    if lot is None:
        return None
    body = json_body(record_json(lot.record, details=details))
    return answers.keep(slot, lot.version, body, body=True)


def _lot_page_kept(
    request: Request, identifier: DigitalLink, details: bool
) -> tuple[Versioned, list[ScanCredential], Kept | None] | None:
    """The lot's record, its credentials with their statuses now, and its page as kept for
    both (None when it must be built); None when the lot is not recorded."""
    lot = _lot_record(request, identifier)
    if lot is None:
        return None
    lot_credentials: LotCredentials | None = request.app.state.lot_credentials
    credentials = (
        lot_credentials.about(lot.record.subjects)
        if lot_credentials is not None and lot.record.subjects
        else []
    )
    answers: ScanAnswers = request.app.state.scan_answers
    kept = answers.get(("page", identifier, details), (lot.version, tuple(credentials)))
    return lot, credentials, kept


async def _lot_page(
    request: Request,
    identifier: DigitalLink,
    details: bool,
    lot: Versioned,
    credentials: list[ScanCredential],
    kept: Kept | None,
) -> Response:
    """The lot's page as kept, or built now (its cold chain and readings read) and kept."""
    if kept is None:
        temperatures = await _cold_chain(request, identifier)
        readings = await _readings(request, identifier) if details else None
        page = lot_page(
            lot.record,
            identifier,
            public_base_url=request.app.state.public_base_url,
            temperatures=temperatures,
            credentials=credentials,
            details=details,
            readings=readings,
        )
        answers: ScanAnswers = request.app.state.scan_answers
        version = (lot.version, tuple(credentials))
        kept = answers.keep(("page", identifier, details), version, page.encode(), body=True)
    return kept_response(request, kept, "text/html; charset=utf-8", private=details)


@dataclass(frozen=True)
class Versioned:
    record: ScanRecord
    version: Hashable


async def _cold_chain(request: Request, identifier: DigitalLink) -> ColdChain | None:
    """The lot's temperatures from the node's bridge, when it runs one."""
    readings: ReadingsReader | None = request.app.state.readings_reader
    if readings is None:
        return None
    series = await run_in_threadpool(readings.temperatures, identifier.batch_id)
    if not series.points:
        return None
    loggers = await run_in_threadpool(readings.summary, identifier.batch_id)
    title = f"Temperatures of {identifier.kind} {identifier.value}"
    return cold_chain(series, loggers, title=title)


async def _readings(request: Request, identifier: DigitalLink) -> ReadingsPage | None:
    """The first of the lot's raw readings, from the node's bridge when it runs one."""
    readings: ReadingsReader | None = request.app.state.readings_reader
    if readings is None:
        return None
    return await run_in_threadpool(
        readings.page, identifier.batch_id, offset=0, limit=SHOWN_READINGS
    )


async def _scanned_elsewhere(
    request: Request, catalogue: Catalogue, gtin: str
) -> DigitalLink | None:
    """The lot or serial a walk-up came from (`?scanned=`), when it is one of this GTIN's and
    truly not recorded: a link cannot make the page call a recorded lot counterfeit."""
    scanned = request.query_params.get(SCANNED_PARAMETER)
    if scanned is None:
        return None
    try:
        identifier = DigitalLink.parse(scanned)
    except InvalidIdentifier:
        return None
    if identifier.gtin != gtin:
        return None
    recorded = await run_in_threadpool(catalogue.record, identifier)
    return identifier if recorded is None else None


@router.get(
    SCAN_PREFIX + "/proof/{batch_id}/{event_index}",
    response_class=HTMLResponse,
    summary="The proof of one step of a lot's life, checked against the chain now",
)
async def step_proof(batch_id: str, event_index: int, request: Request) -> Response:
    """Re-reads the step's anchoring transaction from the chain and compares the hash it
    logged with the hash of the record the read model holds."""
    archive: EventArchive | None = request.app.state.event_archive
    if archive is None:
        return problem(request, 404, "this node proves no events")
    limiter: RateLimiter = request.app.state.proof_limiter
    client = request.client.host if request.client else "unknown"
    if (wait_s := limiter.admit(client)) is not None:
        retry = retry_after_header(wait_s)
        detail = f"too many proofs asked from {client}; retry in {retry} s"
        return problem(request, 429, detail, headers={"Retry-After": retry})
    try:
        key = batch_key(batch_id)
    except ValueError:
        key = None
    if key is None or event_index < 0:
        return problem(request, 400, "a step is named by its lot's 0x batch id and its index")
    event = await run_in_threadpool(archive.filed_event, key, event_index)
    if event is None:
        return problem(request, 404, f"no step {event_index} of batch {batch_id}")
    try:
        proof = await run_in_threadpool(archive.proof, event)
    except CHAIN_UNREACHABLE:
        return problem(request, 503, "the chain did not answer: no proof now, try again")
    return HTMLResponse(proof_page(proof), headers={"Cache-Control": "no-store"})
