"""The payloads anchored events carry, read back from `recordEvents` / `recordFiledEvents`
calldata, and the columns the read model keeps of each (pure, no I/O)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger_client import json_input
from ledger_client.epcis_query.extraction import utc_time
from ledger_client.hashing import keccak256
from ledger_client.indexer.decoding import EventRecorded, organization_key

log = logging.getLogger(__name__)

# Longest extracted payload field kept for queries (the read model's column widths).
MAX_EVENT_TYPE_LENGTH = 64
MAX_BIZ_STEP_LENGTH = 255


@dataclass(frozen=True)
class RecordEventsCall:
    """The batch and payloads of one `recordEvents(batchId, kinds, payloads)` call, or the
    payloads and filings of one `recordFiledEvents(kinds, payloads, filings)` call (then
    `batch_id` is None and `filings[i]` the batch ids event i is filed under)."""

    batch_id: str | None
    payloads: tuple[bytes, ...]
    filings: tuple[frozenset[str], ...] | None = None


def decode_record_events(tx_input: str, *, selector: str) -> RecordEventsCall | None:
    """The call's batch id and payloads when `tx_input` calls `recordEvents`, else None.

    Read straight from the ABI layout (eth_abi takes ~50 µs a payload), every offset
    and length bounds-checked: malformed calldata gives None, never an exception.
    `kinds` is not read; each event's kind is in its log.
    """
    data = _call_data(tx_input, selector)
    if data is None or len(data) < 96:
        return None
    payloads = _dynamic_array(data, _uint(data, 64), _bytes_at)
    if payloads is None:
        return None
    return RecordEventsCall("0x" + data[:32].hex(), tuple(payloads))


def decode_record_filed_events(tx_input: str, *, selector: str) -> RecordEventsCall | None:
    """The call's payloads and filings when `tx_input` calls `recordFiledEvents`, else None
    (malformed calldata included, as `decode_record_events`)."""
    data = _call_data(tx_input, selector)
    if data is None or len(data) < 96:
        return None
    payloads = _dynamic_array(data, _uint(data, 32), _bytes_at)
    filings = _dynamic_array(data, _uint(data, 64), _words_at)
    if payloads is None or filings is None or len(filings) != len(payloads):
        return None
    return RecordEventsCall(None, tuple(payloads), tuple(frozenset(f) for f in filings))


def _call_data(tx_input: str, selector: str) -> bytes | None:
    if not selector or tx_input[: len(selector)].lower() != selector:
        return None
    try:
        return bytes.fromhex(tx_input[len(selector) :])
    except ValueError:
        return None


def _dynamic_array(data: bytes, offset: int, element: Callable[[bytes, int], Any]) -> list | None:
    """The elements of the array of dynamic elements whose count word sits at `offset`: each
    read by `element(data, start)`; None when any offset or length leaves `data`."""
    size = len(data)
    heads = offset + 32  # the count word, then one offset word per element
    if heads > size:
        return None
    count = _uint(data, offset)
    if heads + 32 * count > size:
        return None
    elements = []
    for i in range(count):
        start = heads + _uint(data, heads + 32 * i)
        value = element(data, start)
        if value is None:
            return None
        elements.append(value)
    return elements


def _bytes_at(data: bytes, start: int) -> bytes | None:
    if start + 32 > len(data):
        return None
    end = start + 32 + _uint(data, start)
    return data[start + 32 : end] if end <= len(data) else None


def _words_at(data: bytes, start: int) -> list[str] | None:
    if start + 32 > len(data):
        return None
    end = start + 32 + 32 * _uint(data, start)
    if end > len(data):
        return None
    return ["0x" + data[at : at + 32].hex() for at in range(start + 32, end, 32)]


def _uint(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 32], "big")


def payloads_from_transaction(
    tx: Mapping[str, Any],
    events: Sequence[EventRecorded],
    *,
    ledger_address: str,
    selector: str,
    filed_selector: str = "",
) -> list[str | None]:
    """The anchored payload text of each of `events` (logs of transaction `tx`).

    A payload is taken from the call's `payloads[position]` only when the transaction
    called the ledger's `recordEvents` (selector `selector`) or `recordFiledEvents`
    (`filed_selector`) directly, the call filed it under the log's batch (or under no
    batch, for an organization's event) and keccak256 of it equals the emitted payload
    hash; otherwise it is None and a warning is logged.
    """
    call = None
    if (tx.get("to") or "").lower() == ledger_address.lower():
        tx_input = tx.get("input") or tx.get("data") or "0x"
        call = decode_record_events(tx_input, selector=selector) or decode_record_filed_events(
            tx_input, selector=filed_selector
        )
    if call is None:
        log.warning(
            "transaction %s did not call recordEvents or recordFiledEvents on the ledger directly: "
            "%d event payload(s) left empty",
            tx.get("hash"),
            len(events),
        )
        return [None] * len(events)
    texts: list[str | None] = []
    for event in events:
        texts.append(_payload_text(event, call))
    if missing := texts.count(None):
        log.warning(
            "transaction %s: %d of %d payload(s) do not match their emitted hash or are not "
            "UTF-8 text; left empty",
            tx.get("hash"),
            missing,
            len(events),
        )
    return texts


def _payload_text(event: EventRecorded, call: RecordEventsCall) -> str | None:
    if event.position >= len(call.payloads) or not _filed_under(event, call):
        return None
    payload = call.payloads[event.position]
    if keccak256(payload).hex() != event.payload_hash[2:]:
        return None
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _filed_under(event: EventRecorded, call: RecordEventsCall) -> bool:
    if call.filings is None:
        return call.batch_id == event.batch_id
    filing = call.filings[event.position]
    if filing:
        return event.batch_id in filing
    return event.batch_id == organization_key(event.recorder)


@dataclass(frozen=True, slots=True)
class PayloadColumns:
    """The fields of an EPCIS event the read model indexes for queries."""

    event_type: str | None = None
    event_time: datetime | None = None
    biz_step: str | None = None


def payload_columns(payload: str | None) -> PayloadColumns:
    """`type`, `eventTime` (in UTC) and `bizStep` of an EPCIS 2.0 JSON event.

    Anything missing, of the wrong type or unparseable is None: the payload is
    stored as anchored either way.
    """
    return columns_of(payload_document(payload))


def payload_document(payload: str | None) -> dict[str, Any] | None:
    """The JSON object an anchored payload holds; None for no payload, one that is not
    JSON (or nested too deep to read safely) or not an object."""
    if payload is None:
        return None
    try:
        document = json_input.loads(payload)
    except ValueError:  # InvalidJson
        return None
    return document if isinstance(document, dict) else None


def columns_of(document: Mapping[str, Any] | None) -> PayloadColumns:
    """`payload_columns` of an already parsed payload."""
    if document is None:
        return PayloadColumns()
    return PayloadColumns(
        event_type=_short_text(document.get("type"), MAX_EVENT_TYPE_LENGTH),
        event_time=utc_time(document.get("eventTime")),
        biz_step=_short_text(document.get("bizStep"), MAX_BIZ_STEP_LENGTH),
    )


def _short_text(value: object, limit: int) -> str | None:
    return value if isinstance(value, str) and len(value) <= limit else None
