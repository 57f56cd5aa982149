"""The scan page as HTML: a Jinja2 template rendered with no scripts, fonts or assets from
elsewhere, so it works offline on a phone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.scan.chart import Band, Sample, temperature_chart
from api.scan.credentials import ScanCredential
from api.scan.record import ScanRecord, Step, event_record
from ledger_client.epcis_query.proofs import EventProof
from ledger_client.identifiers import GS1_RESOLVER, DigitalLink, InvalidIdentifier
from oracle_bridge.batch_readings import DeviceSummary, ReadingsPage, TemperatureSeries

SCAN_PREFIX = "/scan"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def scan_path(uri: str) -> str:
    """The scan page of a canonical Digital Link URI."""
    return SCAN_PREFIX + uri.removeprefix(GS1_RESOLVER) if uri.startswith(GS1_RESOLVER) else "#"


def label(uri: str) -> str:
    """A lot or item in words, e.g. "lot A/1 of 09506000134352"; the URI when it is none."""
    try:
        link = DigitalLink.parse(uri)
    except InvalidIdentifier:
        return uri
    return f"{'serial' if link.kind == 'item' else 'lot'} {link.value} of {link.gtin}"


@dataclass(frozen=True)
class ColdChain:
    """What the page shows of a lot's temperatures: the chart (SVG markup) and, per logger,
    its summary."""

    chart: str
    loggers: list[DeviceSummary]


def cold_chain(
    series: TemperatureSeries, loggers: list[DeviceSummary], *, title: str
) -> ColdChain | None:
    """The lot's cold chain as shown, or None when no logger reported on it."""
    if not series.points:
        return None
    band = Band(*series.band) if series.band else None
    samples = [Sample(at, celsius) for at, celsius in series.points]
    return ColdChain(temperature_chart(samples, band=band, title=title), loggers)


def lot_page(
    record: ScanRecord,
    identifier: DigitalLink,
    *,
    public_base_url: str,
    temperatures: ColdChain | None = None,
    credentials: list[ScanCredential] | None = None,
    details: bool = False,
    readings: ReadingsPage | None = None,
) -> str:
    """The page of a recorded lot or item, with its cold chain when loggers reported on it
    and the credentials about it when the node keeps any; with `details`, each step's event
    record and the first of the raw `readings`."""
    return _render(
        temperatures=temperatures,
        credentials=credentials or [],
        details=details,
        readings=readings if details else None,
        title=f"{identifier.kind.capitalize()} {identifier.value}",
        gtin=identifier.gtin,
        record=record,
        lots=None,
        unrecorded=None,
        unrecorded_kind=None,
        path=identifier.path,
        public_base_url=public_base_url,
    )


def product_page(
    gtin: str, lots: list[str], *, unrecorded: DigitalLink | None, public_base_url: str
) -> str:
    """The page of a product: its recorded lots and items and, when the scan named a lot or
    serial the ledger does not record, a warning saying so."""
    return _render(
        temperatures=None,
        credentials=[],
        details=False,
        readings=None,
        title=f"Product {gtin}",
        gtin=gtin,
        record=None,
        lots=lots,
        unrecorded=unrecorded.value if unrecorded else None,
        unrecorded_kind=("serial number" if unrecorded.kind == "item" else "lot")
        if unrecorded
        else None,
        path=f"/01/{gtin}",
        public_base_url=public_base_url,
    )


def _render(*, path: str, public_base_url: str, **context: object) -> str:
    return _TEMPLATES.get_template("scan.html").render(
        **context,
        digital_link=public_base_url + path,
        qr_path=f"/qr{path}.svg",
        scan_path=scan_path,
        label=label,
        event_text=_event_text,
        when=_when,
    )


def _event_text(step: Step) -> str:
    """A step's event record, indented for reading."""
    record = event_record(step)
    return record if isinstance(record, str) else json.dumps(record, indent=2, ensure_ascii=False)


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def proof_page(proof: EventProof) -> str:
    """One step's proof: verified or not (and why), with the transaction, block, log and
    both hashes."""
    return _TEMPLATES.get_template("proof.html").render(proof=proof)
