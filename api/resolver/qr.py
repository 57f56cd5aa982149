"""QR codes of Digital Link URIs (segno): the image a label carries and a page shows."""

from __future__ import annotations

import functools
import io
from typing import Literal

import segno

ImageKind = Literal["svg", "png"]
MEDIA_TYPES: dict[str, str] = {"svg": "image/svg+xml", "png": "image/png"}
# Medium error correction: survives a scuffed label (15 %) and stays small on it.
_ERROR_CORRECTION = "m"
_SCALE = {"svg": 4, "png": 8}


def qr_image(uri: str, *, kind: ImageKind, title: str) -> bytes:
    """The QR code of `uri` as an SVG (with `title` as its text alternative) or a PNG."""
    return _drawn(uri, kind, title)


# Drawing a code takes milliseconds; a lot's is asked for with every view of its page.
@functools.lru_cache(maxsize=1_024)
def _drawn(uri: str, kind: ImageKind, title: str) -> bytes:
    code = segno.make(uri, error=_ERROR_CORRECTION, micro=False)
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=_SCALE[kind], border=4, title=title, desc=uri)
    else:
        code.save(out, kind="png", scale=_SCALE[kind], border=4)
    return out.getvalue()


def qr_text(uri: str) -> str:
    """The QR code of `uri` drawn with block characters, for a terminal."""
    out = io.StringIO()
    segno.make(uri, error=_ERROR_CORRECTION, micro=False).terminal(out=out, compact=True)
    return out.getvalue()
