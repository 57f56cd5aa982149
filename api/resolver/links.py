"""The links a scanned lot, item or product resolves to, and their two renderings: the RFC
9264 linkset (`application/linkset+json`, GS1 resolver standard 1.2 §7) and the resolver's
description file (`/.well-known/gs1resolver`).

Pure: paths are built from the request; the base URL is the node's public one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from api.resolver.request import GTIN, ResolverRequest

VOCABULARY = "https://gs1.org/voc/"
LINK_TYPE_PREFIX = "gs1:"
DEFAULT_LINK = "defaultLink"
# The scan page of `/01/{gtin}/10/{lot}` is `/scan/01/{gtin}/10/{lot}`: the resolver's own
# path redirects to it, so it cannot be the page too.
SCAN_PAGE_PREFIX = "/scan"


@dataclass(frozen=True)
class Link:
    """One target of a link type (a term of the GS1 Web vocabulary, e.g. `pip`)."""

    link_type: str
    path: str
    title: str
    media_type: str

    @property
    def relation(self) -> str:
        """The link type as the linkset names it: its full vocabulary URI."""
        return VOCABULARY + self.link_type


# The link types this resolver serves, in the order a linkset lists them.
LINK_TYPES = ("defaultLink", "pip", "epcis", "traceability", "certificationInfo", "relatedImage")


def links_of(request: ResolverRequest) -> list[Link]:
    """Every link of the lot or item `request` names, or of its product (GTIN) when it names
    neither: the scan page is the default link."""
    page = SCAN_PAGE_PREFIX + _item_path(request)
    identifier = request.identifier
    links = [
        Link(DEFAULT_LINK, page, "Provenance and status (scan page)", "text/html"),
        Link("pip", page, "Provenance and status (scan page)", "text/html"),
        Link("pip", page, "Provenance and status as JSON", "application/json"),
    ]
    if identifier is None:
        return links
    uri = quote(identifier.uri, safe="")
    return [
        *links,
        Link(
            "epcis",
            f"/api/v1/events?MATCH_anyEPC={uri}",
            "EPCIS events (EPCIS 2.0 query)",
            "application/ld+json",
        ),
        Link(
            "traceability",
            f"/api/v1/trace/{uri}?direction=backward",
            "Trace: where it came from",
            "application/json",
        ),
        Link(
            "certificationInfo",
            f"/api/v1/batches/{uri}",
            "Credentials with their verification",
            "application/json",
        ),
        Link("relatedImage", f"/qr{identifier.path}.svg", "QR code of this page", "image/svg+xml"),
    ]


def link_of_type(links: list[Link], link_type: str) -> Link | None:
    """The first link of `link_type` (`gs1:pip`, its full URI, or `pip`), if any."""
    term = term_of(link_type)
    return next((link for link in links if link.link_type == term), None)


def term_of(link_type: str) -> str:
    """The vocabulary term of a link type written as a CURIE, a URI or a bare term."""
    for prefix in (LINK_TYPE_PREFIX, VOCABULARY, "http://gs1.org/voc/", "https://ref.gs1.org/voc/"):
        if link_type.startswith(prefix):
            return link_type[len(prefix) :]
    return link_type


def linkset(
    request: ResolverRequest, *, base_url: str, item_description: str
) -> dict[str, list[dict[str, Any]]]:
    """The RFC 9264 linkset of what `request` names, anchored at its canonical URI on
    `base_url` (no trailing slash)."""
    context: dict[str, Any] = {
        "anchor": base_url + _item_path(request),
        "itemDescription": item_description,
    }
    for link in links_of(request):
        context.setdefault(link.relation, []).append(
            {"href": base_url + link.path, "title": link.title, "type": link.media_type}
        )
    return {"linkset": [context]}


def describe_resolver(*, base_url: str, name: str) -> dict[str, Any]:
    """The resolver description file (`/.well-known/gs1resolver`): who answers, for which
    keys, with which link types."""
    return {
        "name": name,
        "resolverRoot": base_url,
        "supportedPrimaryKeys": [GTIN],
        "supportedLinkType": [{"namespace": VOCABULARY, "prefix": LINK_TYPE_PREFIX}],
        "linkTypeDefaultCanBeLinkset": True,
        "linkTypes": [LINK_TYPE_PREFIX + term for term in LINK_TYPES],
    }


def _item_path(request: ResolverRequest) -> str:
    identifier = request.identifier
    return identifier.path if identifier is not None else request.product_path
