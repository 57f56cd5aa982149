"""The public scan page: `GET /scan/01/{gtin}[/10/{lot}|/21/{serial}]`, the resolver's
default link. HTML for a browser, the same public record as JSON on `Accept: application/json`."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.deps import ReadingsReader
from api.resolver.request import ResolverSyntaxError, parse_request
from api.routes.credentials import live_status
from api.routes.resolver import SCANNED_PARAMETER, Catalogue, problem, raw_path
from api.scan.caching import cached_html, cached_json
from api.scan.pages import (
    SCAN_PREFIX,
    ColdChain,
    ScanCredential,
    cold_chain,
    lot_page,
    product_page,
    proof_page,
)
from api.scan.record import product_json, record_json
from credentials.store import CredentialStore
from credentials.verify import CredentialVerifier
from ledger_client.chain import CHAIN_UNREACHABLE
from ledger_client.epcis_query.archive import EventArchive
from ledger_client.identifiers import GS1_RESOLVER, DigitalLink, InvalidIdentifier

router = APIRouter(tags=["scan"])
_JSON_MEDIA_TYPES = ("application/json", "application/ld+json")
_BATCH_ID = re.compile(r"0x[0-9a-fA-F]{64}")


@router.get(
    SCAN_PREFIX + "/01/{digital_link:path}",
    response_class=HTMLResponse,
    summary="The scan page of a lot, item or product",
)
async def scan_page(digital_link: str, request: Request) -> Response:
    """What the public sees on scanning a lot's QR code: status, its life on the ledger,
    where it came from and went."""
    try:
        scanned = parse_request(raw_path(request).removeprefix(SCAN_PREFIX), [])
    except ResolverSyntaxError as exc:
        return problem(request, 400, f"not a valid GS1 Digital Link: {exc}")
    catalogue: Catalogue = request.app.state.catalogue
    base = request.app.state.public_base_url
    wants_json = any(m in request.headers.get("accept", "") for m in _JSON_MEDIA_TYPES)
    lots = await run_in_threadpool(catalogue.product, scanned.gtin)
    if not lots:
        return problem(request, 404, f"GTIN {scanned.gtin} is not recorded on this ledger")
    identifier = scanned.identifier
    record = None if identifier is None else await run_in_threadpool(catalogue.record, identifier)
    if record is not None and identifier is not None:
        if wants_json:
            return cached_json(request, record_json(record))
        temperatures = await _cold_chain(request, identifier)
        credentials = await _credentials(request, record.subjects)
        page = lot_page(
            record,
            identifier,
            public_base_url=base,
            temperatures=temperatures,
            credentials=credentials,
        )
        return cached_html(request, page)
    unrecorded = identifier or await _scanned_elsewhere(request, catalogue, scanned.gtin)
    uris = [lot.uri for lot in lots]
    if wants_json:
        product_uri = f"{GS1_RESOLVER}/01/{scanned.gtin}"
        scanned_uri = unrecorded.uri if unrecorded else None
        return cached_json(request, product_json(product_uri, lots=uris, scanned=scanned_uri))
    page = product_page(scanned.gtin, uris, unrecorded=unrecorded, public_base_url=base)
    return cached_html(request, page)


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


async def _credentials(request: Request, subjects: list[str]) -> list[ScanCredential]:
    """The credentials the node keeps about the lot's DIDs, each verified against the chain
    now (a status of None when the chain does not answer)."""
    store: CredentialStore | None = request.app.state.credential_store
    verifier: CredentialVerifier | None = request.app.state.credential_verifier
    if store is None or verifier is None or not subjects:
        return []
    vcs = [vc for did in subjects for vc in await run_in_threadpool(store.of_subject, did)]
    if not vcs:
        return []
    try:
        reports = await run_in_threadpool(verifier.verify_many, vcs)
        statuses: list[str | None] = [live_status(report) for report in reports]
    except CHAIN_UNREACHABLE:
        statuses = [None] * len(vcs)
    return [
        ScanCredential(vc["type"][-1], vc["issuer"], vc["issuanceDate"], status)
        for vc, status in zip(vcs, statuses, strict=True)
    ]


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
    if not _BATCH_ID.fullmatch(batch_id) or event_index < 0:
        return problem(request, 400, "a step is named by its lot's 0x batch id and its index")
    event = await run_in_threadpool(archive.filed_event, batch_id.lower(), event_index)
    if event is None:
        return problem(request, 404, f"no step {event_index} of batch {batch_id}")
    try:
        proof = await run_in_threadpool(archive.proof, event)
    except CHAIN_UNREACHABLE:
        return problem(request, 503, "the chain did not answer: no proof now, try again")
    return HTMLResponse(proof_page(proof), headers={"Cache-Control": "no-store"})
