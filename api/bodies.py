"""Request bodies read within a byte limit: a sender cannot make the server buffer more."""

from __future__ import annotations

from fastapi import HTTPException, Request, status


async def read_limited_body(request: Request, limit: int, *, advice: str) -> bytes:
    """The request body, refused with 413 (saying `advice`) as soon as it is known to exceed
    `limit` bytes: by its declared length before a byte is read, else while streaming."""
    too_large = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"the body exceeds {limit} bytes: {advice}"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)
