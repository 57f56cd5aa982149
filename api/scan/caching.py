"""Validators for what a scan answers: an ETag of the body, revalidated on every use, so a
lot's page changes the moment its status does and costs a 304 while it does not."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request, Response

# Cached, but checked with the server each time (a quarantine must show at once).
CACHE_CONTROL = "no-cache"


def cached_json(request: Request, body: Any, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return cached(request, content, "application/json", headers)


def cached_html(request: Request, page: str) -> Response:
    return cached(request, page.encode(), "text/html; charset=utf-8")


def cached(
    request: Request, content: bytes, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    """`content` with its ETag, or 304 when the client holds it already."""
    etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    validators = {**(headers or {}), "ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=validators)
    return Response(content, media_type=media_type, headers=validators)
