"""Hand-rolled ABI encoding of `recordEvents` and `recordFiledEvents`: the hot path of
anchoring (pure).

web3's generic encoder spends ~0.5 ms per event; this writes the same bytes directly
(checked against eth_abi in tests/ledger_client/test_calldata.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils import function_signature_to_4byte_selector

RECORD_EVENTS_SELECTOR = function_signature_to_4byte_selector(
    "recordEvents(bytes32,uint8[],bytes[])"
)
RECORD_FILED_EVENTS_SELECTOR = function_signature_to_4byte_selector(
    "recordFiledEvents(uint8[],bytes[],bytes32[][])"
)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def encode_record_events(batch_id: bytes, kinds: Sequence[int], payloads: Sequence[bytes]) -> bytes:
    """Calldata of `recordEvents(batchId, kinds, payloads)`."""
    if len(batch_id) != 32:
        raise ValueError("batch id must be 32 bytes")
    count = len(kinds)
    kinds_offset = 32 * 3
    payloads_offset = kinds_offset + 32 * (1 + count)
    parts = [RECORD_EVENTS_SELECTOR, batch_id, _word(kinds_offset), _word(payloads_offset)]
    parts.append(_word(count))
    parts.extend(_word(kind) for kind in kinds)
    parts += _bytes_array(payloads)
    return b"".join(parts)


def encode_record_filed_events(
    kinds: Sequence[int], payloads: Sequence[bytes], filings: Sequence[Sequence[bytes]]
) -> bytes:
    """Calldata of `recordFiledEvents(kinds, payloads, filings)`."""
    if any(len(batch_id) != 32 for filing in filings for batch_id in filing):
        raise ValueError("batch id must be 32 bytes")
    kinds_part = [_word(len(kinds)), *(_word(kind) for kind in kinds)]
    payloads_part = _bytes_array(payloads)
    kinds_offset = 32 * 3
    payloads_offset = kinds_offset + 32 * len(kinds_part)
    filings_offset = payloads_offset + sum(map(len, payloads_part))
    parts = [
        RECORD_FILED_EVENTS_SELECTOR,
        _word(kinds_offset),
        _word(payloads_offset),
        _word(filings_offset),
        *kinds_part,
        *payloads_part,
        _word(len(filings)),
    ]
    # The bytes32[][] head: one offset per filing, relative to the start of the heads.
    offset = 32 * len(filings)
    for filing in filings:
        parts.append(_word(offset))
        offset += 32 * (1 + len(filing))
    for filing in filings:
        parts.append(_word(len(filing)))
        parts.extend(filing)
    return b"".join(parts)


def _bytes_array(payloads: Sequence[bytes]) -> list[bytes]:
    """The ABI encoding of a `bytes[]`: count, one offset per element (relative to the start
    of the offsets), then each element's length and padded bytes."""
    parts = [_word(len(payloads))]
    offset = 32 * len(payloads)
    tails = []
    for payload in payloads:
        parts.append(_word(offset))
        padding = -len(payload) % 32
        tails += [_word(len(payload)), payload, b"\x00" * padding]
        offset += 32 + len(payload) + padding
    return parts + tails
