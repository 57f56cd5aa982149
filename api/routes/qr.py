"""QR images of lots, items and products: `GET /qr/01/{gtin}[/10/{lot}|/21/{serial}].svg|.png`,
encoding the Digital Link on the node's public base URL."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, HTTPException, Request, Response

from api.resolver.qr import MEDIA_TYPES, qr_image
from api.resolver.request import ResolverSyntaxError, parse_request

router = APIRouter(tags=["qr"])
_PREFIX = "/qr"
# The image of a URI never changes; a day keeps labels' previews cached without pinning a
# base URL change for long.
_CACHE_CONTROL = "public, max-age=86400"


@router.get(
    "/qr/{digital_link:path}",
    response_class=Response,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
    summary="The QR code of a lot's, item's or product's Digital Link",
)
def qr_code(digital_link: str, request: Request) -> Response:
    """`digital_link` is the Digital Link path (`01/{gtin}/10/{lot}`) followed by `.svg` or
    `.png`; the code encodes that path on the node's public base URL."""
    raw_path = request.scope.get("raw_path", b"").decode("ascii", "replace").split("?")[0]
    path, _, kind = raw_path.removeprefix(_PREFIX).rpartition(".")
    if kind not in MEDIA_TYPES:
        raise HTTPException(404, f"no QR image of type {kind!r}: ask for .svg or .png")
    try:
        scanned = parse_request(path, [])
    except ResolverSyntaxError as exc:
        raise HTTPException(400, str(exc)) from None
    identifier = scanned.identifier
    target = identifier.path if identifier is not None else scanned.product_path
    uri = request.app.state.public_base_url + target
    etag = '"' + hashlib.sha256(f"{kind}\n{uri}".encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": _CACHE_CONTROL}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    image = qr_image(uri, kind=kind, title=f"QR code of {uri}")
    return Response(image, media_type=MEDIA_TYPES[kind], headers=headers)
