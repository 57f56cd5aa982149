"""`provenance qr URI`: the QR code of a lot's, item's or product's Digital Link, drawn in
the terminal or written to an SVG or PNG file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger_client.terminal import clear_errors, console, fail


@clear_errors
def qr(
    digital_link: Annotated[
        str,
        typer.Argument(
            help="A Digital Link URI (any host) or path, e.g. /01/09506000134352/10/LOT1; "
            "the code encodes it on PROVENANCE_PUBLIC_BASE_URL"
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write an .svg or .png file instead of drawing"),
    ] = None,
) -> None:
    """Draw the QR code a label carries for a lot, item or product.

    Example:

    \b
      provenance qr https://id.gs1.org/01/09506000134352/10/LOT1 -o lot1.svg
    """
    from urllib.parse import urlsplit

    from api.config import ApiSettings
    from api.resolver.qr import qr_image, qr_text
    from api.resolver.request import ResolverSyntaxError, parse_request

    settings = ApiSettings()
    path = urlsplit(digital_link).path if "://" in digital_link else digital_link
    try:
        scanned = parse_request(path, [])
    except ResolverSyntaxError as exc:
        fail(f"{digital_link!r} is not a Digital Link the resolver serves: {exc}")
    identifier = scanned.identifier
    uri = settings.resolved_public_base_url(bind="127.0.0.1:8000") + (
        identifier.path if identifier is not None else scanned.product_path
    )
    if output is None:
        console.print(qr_text(uri), highlight=False, markup=False)
        console.print(uri, highlight=False, markup=False)
        return
    kind = output.suffix.lower().lstrip(".")
    if kind not in ("svg", "png"):
        fail(f"{output} must end in .svg or .png")
    output.write_bytes(qr_image(uri, kind=kind, title=f"QR code of {uri}"))  # type: ignore[arg-type]
    console.print(
        f"wrote the QR code of {uri} to {output}", highlight=False, markup=False, soft_wrap=True
    )
