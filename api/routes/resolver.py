"""The GS1 Digital Link resolver on the server's root (`/01/{gtin}/10/{lot}`, …): a scanned
URI is read by the standard's syntax and answered with a redirect to its default link (the
scan page), its linkset, one link of a type, or its public record as JSON.

An unknown lot or serial of a known GTIN walks up to the product, and the answer says the
scanned one is not recorded on the ledger (a possible counterfeit); an unknown GTIN is 404.
"""

from __future__ import annotations

from collections.abc import Hashable
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse

from api.resolver.links import describe_resolver, link_of_type, links_of, linkset, term_of
from api.resolver.request import (
    ResolverRequest,
    ResolverSyntaxError,
    UnsupportedKey,
    ZeroSuppressedGtin,
    parse_request,
)
from api.scan.caching import cached_json
from api.scan.record import ScanRecord, product_json, record_json
from ledger_client.identifiers import GS1_RESOLVER, DigitalLink
from ledger_client.indexer.catalogue import RecordedBatch

router = APIRouter(tags=["resolver"])

LINKSET_MEDIA_TYPE = "application/linkset+json"
_JSON_MEDIA_TYPES = ("application/json", "application/ld+json")
_WHOLE_LINKSET = {"linkset", "all"}
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language",
    "Access-Control-Expose-Headers": "Link, Location",
}
# A walk-up's scan page is told which lot or serial was scanned, to say it is not recorded.
SCANNED_PARAMETER = "scanned"


class Catalogue(Protocol):
    """What the resolver asks of the read model."""

    def product(self, gtin: str) -> list[RecordedBatch]: ...

    def record(self, identifier: DigitalLink) -> ScanRecord | None: ...

    def change(self, identifier: DigitalLink) -> Hashable | None:
        """A mark of the lot's last indexed change (equal while its record is unchanged);
        None when the lot is not recorded."""
        ...


@router.api_route("/01/{digital_link:path}", methods=["GET", "HEAD"], include_in_schema=False)
@router.api_route("/gtin/{digital_link:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def resolve(digital_link: str, request: Request) -> Response:
    try:
        scanned = parse_request(raw_path(request), request.query_params.multi_items())
    except ZeroSuppressedGtin as exc:
        location = exc.canonical_path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(location, status_code=301, headers=_CORS)
    except UnsupportedKey as exc:
        return problem(request, 404, str(exc))
    except ResolverSyntaxError as exc:
        return problem(request, 400, f"not a valid GS1 Digital Link: {exc}")
    catalogue: Catalogue = request.app.state.catalogue
    lots = await run_in_threadpool(catalogue.product, scanned.gtin)
    if not lots:
        return problem(request, 404, f"GTIN {scanned.gtin} is not recorded on this ledger")
    identifier = scanned.identifier
    record = None if identifier is None else await run_in_threadpool(catalogue.record, identifier)
    return _answer(request, scanned, lots, record)


@router.options("/01/{digital_link:path}", include_in_schema=False)
@router.options("/gtin/{digital_link:path}", include_in_schema=False)
async def resolver_options(digital_link: str) -> Response:
    return Response(status_code=204, headers={**_CORS, "Allow": "GET, HEAD, OPTIONS"})


@router.get("/.well-known/gs1resolver", summary="The resolver's description file")
def resolver_description(request: Request) -> JSONResponse:
    description = describe_resolver(
        base_url=request.app.state.public_base_url, name="Provenance Ledger"
    )
    return JSONResponse(description, headers=_CORS)


def _answer(
    request: Request,
    scanned: ResolverRequest,
    lots: list[RecordedBatch],
    record: ScanRecord | None,
) -> Response:
    base = request.app.state.public_base_url
    walked_up = scanned.identifier is not None and record is None
    # A walk-up answers for the product: its links, its record.
    target = ResolverRequest(scanned.gtin, attributes=scanned.attributes) if walked_up else scanned
    link_type = scanned.link_type
    accept = request.headers.get("accept", "")
    if (link_type is not None and term_of(link_type) in _WHOLE_LINKSET) or (
        link_type is None and LINKSET_MEDIA_TYPE in accept
    ):
        description = _describe(scanned, record)
        body = linkset(target, base_url=base, item_description=description)
        return JSONResponse(body, media_type=LINKSET_MEDIA_TYPE, headers=_CORS)
    links = links_of(target)
    if link_type is not None:
        link = link_of_type(links, link_type)
        if link is None:
            return problem(request, 404, f"{_describe(scanned, record)} has no {link_type} link")
        return _redirect(request, link.path, scanned, walked_up)
    if any(media in accept for media in _JSON_MEDIA_TYPES):
        # The resolver answers the public; a member asks the scan page with a token.
        details = request.app.state.scan_public_details
        body = _record_body(scanned, lots, record, details=details)
        return cached_json(request, body, headers=_CORS)
    default = link_of_type(links, "defaultLink")
    assert default is not None  # every item has its scan page
    return _redirect(request, default.path, scanned, walked_up)


def _redirect(request: Request, path: str, scanned: ResolverRequest, walked_up: bool) -> Response:
    """307 to `path`, the request's query string passed on (and, for a walk-up, the lot or
    serial scanned), with a Link header to the linkset."""
    query = request.url.query
    if walked_up and scanned.identifier is not None:
        extra = urlencode({SCANNED_PARAMETER: scanned.identifier.uri})
        query = f"{query}&{extra}" if query else extra
    location = path + (("&" if "?" in path else "?") + query if query else "")
    linkset_url = f"{request.app.state.public_base_url}{raw_path(request)}?linkType=linkset"
    headers = {
        **_CORS,
        "Link": f'<{linkset_url}>; rel="linkset"; type="{LINKSET_MEDIA_TYPE}"',
    }
    return RedirectResponse(location, status_code=307, headers=headers)


def _record_body(
    scanned: ResolverRequest,
    lots: list[RecordedBatch],
    record: ScanRecord | None,
    *,
    details: bool,
) -> dict[str, Any]:
    if record is not None:
        return record_json(record, details=details)
    identifier = scanned.identifier
    return product_json(
        f"{GS1_RESOLVER}{scanned.product_path}",
        lots=[lot.uri for lot in lots],
        scanned=identifier.uri if identifier is not None else None,
    )


def _describe(scanned: ResolverRequest, record: ScanRecord | None) -> str:
    identifier = scanned.identifier
    if identifier is None:
        return f"Product GTIN {scanned.gtin}"
    if record is None:
        return f"Product GTIN {scanned.gtin} ({identifier.kind} {identifier.value} is not recorded)"
    return f"GTIN {scanned.gtin}, {identifier.kind} {identifier.value}"


def problem(
    request: Request, status: int, detail: str, *, headers: dict[str, str] | None = None
) -> Response:
    """An error as JSON, or as a short HTML page for a browser."""
    headers = {**_CORS, **(headers or {})}
    if "text/html" in request.headers.get("accept", ""):
        page = (
            "<!doctype html><html lang=en><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width">'
            f"<title>{status}</title><h1>{HTTPStatus(status).phrase}</h1>"
            f"<p>{_escape(detail)}</p></html>"
        )
        return Response(page, status_code=status, media_type="text/html", headers=headers)
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def raw_path(request: Request) -> str:
    raw: bytes = request.scope.get("raw_path") or quote(request.url.path).encode()
    return raw.decode("ascii", "replace").split("?", 1)[0]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
