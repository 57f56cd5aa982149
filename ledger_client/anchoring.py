"""Anchor a whole EPCIS 2.0 document on the ledger in one call."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ledger_client.epcis.canonical import canonicalize
from ledger_client.epcis.document import events_of
from ledger_client.epcis.kinds import kind_of
from ledger_client.epcis.validation import Validator
from ledger_client.ledger import AnchoredEvents, LedgerWriter
from ledger_client.lifecycle import EventKind


def document_payloads(document: Mapping[str, Any]) -> list[tuple[EventKind, bytes]]:
    """(kind, canonical self-describing payload) of every event of an EPCISDocument."""
    return [(kind_of(event), canonicalize(event)) for event in events_of(document)]


def anchor_document(
    writer: LedgerWriter,
    document: Mapping[str, Any],
    *,
    batch_id: bytes,
    validator: Validator | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> AnchoredEvents:
    """Validate `document` and anchor each of its events under `batch_id`.

    Raises `InvalidEpcisEvent` (listing every JSON path at fault) before anything is sent,
    or the contract's custom error (unknown batch, missing role, quarantine) as an exception.
    """
    (validator or Validator()).validate(document)
    return writer.record_events(batch_id, document_payloads(document), on_progress=on_progress)
