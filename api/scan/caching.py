"""Validators for what a scan answers: an ETag of the body, revalidated on every use, so a
lot's page changes the moment its status does and costs a 304 while it does not."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request, Response

from api.scan.answers import Kept, etag_of

# Cached, but checked with the server each time (a quarantine must show at once); what a
# token shows is for that browser only, never a shared cache.
CACHE_CONTROL = "no-cache"
PRIVATE_CACHE_CONTROL = "private, no-cache"


def json_body(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def cached_json(request: Request, body: Any, headers: dict[str, str] | None = None) -> Response:
    return cached(request, json_body(body), "application/json", headers)


def cached_html(request: Request, page: str, *, private: bool = False) -> Response:
    return cached(request, page.encode(), "text/html; charset=utf-8", private=private)


def cached(
    request: Request,
    content: bytes,
    media_type: str,
    headers: dict[str, str] | None = None,
    *,
    private: bool = False,
    etag: str | None = None,
) -> Response:
    """`content` with its ETag (`etag` when known already), or 304 when the client holds it
    already; `private`: shown for the request's token, kept by no shared cache."""
    etag = etag or etag_of(content)
    validators = {
        **(headers or {}),
        "ETag": etag,
        "Cache-Control": PRIVATE_CACHE_CONTROL if private else CACHE_CONTROL,
        # The answer depends on the media type asked for and on the token presented.
        "Vary": "Accept, Authorization",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=validators)
    return Response(content, media_type=media_type, headers=validators)


def kept_response(request: Request, kept: Kept, media_type: str, *, private: bool) -> Response:
    """A kept body as `cached` answers it, gzip-encoded (compressed when it was kept) for a
    client that accepts gzip: a 1,000-step lot's JSON is ~300 KB, ~25 KB so."""
    assert kept.etag is not None and kept.gzipped is not None, "a kept body"
    if "gzip" not in request.headers.get("accept-encoding", ""):
        response = cached(request, kept.value, media_type, private=private, etag=kept.etag)
    else:
        # Another representation, so another (strong) ETag.
        etag = kept.etag[:-1] + '-gzip"'
        response = cached(request, kept.gzipped, media_type, private=private, etag=etag)
        if response.status_code == 200:
            response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept, Authorization, Accept-Encoding"
    return response
