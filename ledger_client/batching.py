"""Split events into transactions that stay under the node's size and gas limits (pure)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

# ABI overhead per element of `recordEvents(bytes32, uint8[], bytes[])`: the kind word,
# the payload offset and length words and up to 31 bytes of padding.
ABI_BYTES_PER_EVENT = 32 * 3 + 31
CALL_OVERHEAD_BYTES = 4 + 32 * 5
# Execution per event measured in the contract's gas test, with head-room.
EXECUTION_GAS_PER_EVENT = 4_000
TX_BASE_GAS = 21_000
# The membership check, the batch's storage read and write, once per call.
CALL_FIXED_GAS = 40_000


def calldata_floor_gas(data: bytes) -> int:
    """EIP-7623 floor of calldata (Prague+): 10 gas per token, a non-zero byte is 4 tokens."""
    zeros = data.count(0)
    return 10 * (zeros + 4 * (len(data) - zeros))


def calldata_standard_gas(data: bytes) -> int:
    """Pre-Prague intrinsic calldata cost: 4 gas per zero byte, 16 per non-zero byte."""
    zeros = data.count(0)
    return 4 * zeros + 16 * (len(data) - zeros)


def event_gas_bound(payload: bytes) -> int:
    """An upper bound on one event's share of a transaction's gas, under any hardfork."""
    size = len(payload) + ABI_BYTES_PER_EVENT
    return 40 * size + EXECUTION_GAS_PER_EVENT


def transaction_gas_bound(payloads: Sequence[bytes]) -> int:
    """Gas limit for one `recordEvents` transaction: no estimate round trip on the hot path."""
    return (
        TX_BASE_GAS
        + CALL_FIXED_GAS
        + 40 * CALL_OVERHEAD_BYTES
        + sum(map(event_gas_bound, payloads))
    )


def split_events(
    payloads: Sequence[bytes], *, max_tx_bytes: int, max_tx_gas: int
) -> Iterator[range]:
    """Consecutive index ranges of `payloads`, each fitting one transaction's byte and gas budget.

    A single event too large for one transaction raises `ValueError`.
    """
    fixed_gas = TX_BASE_GAS + CALL_FIXED_GAS
    start, size, gas = 0, CALL_OVERHEAD_BYTES, fixed_gas
    for index, payload in enumerate(payloads):
        event_size = len(payload) + ABI_BYTES_PER_EVENT
        event_gas = event_gas_bound(payload)
        if CALL_OVERHEAD_BYTES + event_size > max_tx_bytes or fixed_gas + event_gas > max_tx_gas:
            raise ValueError(
                f"event {index} ({len(payload)} bytes) does not fit in one transaction "
                f"(limit {max_tx_bytes} bytes, {max_tx_gas} gas)"
            )
        if size + event_size > max_tx_bytes or gas + event_gas > max_tx_gas:
            yield range(start, index)
            start, size, gas = index, CALL_OVERHEAD_BYTES, fixed_gas
        size += event_size
        gas += event_gas
    if start < len(payloads):
        yield range(start, len(payloads))


# `recordFiledEvents(uint8[], bytes[], bytes32[][])`: per event also the filing's offset and
# length words, then one word per batch.
FILING_BYTES_PER_EVENT = 32 * 2
FILING_BYTES_PER_BATCH = 32
# Per batch of a filing: its cold slot read and write, the writer check's cold reads and one
# log; per event filed under the organization, a fresh counter slot (gas test, with head-room).
EXECUTION_GAS_PER_FILING = 15_000
EXECUTION_GAS_PER_ORGANIZATION_EVENT = 27_000


def filed_event_cost(payload: bytes, batch_count: int) -> tuple[int, int]:
    """(calldata bytes, gas bound) of one event of `recordFiledEvents` filed under
    `batch_count` batches (0: under the sender's organization)."""
    filing_bytes = FILING_BYTES_PER_EVENT + FILING_BYTES_PER_BATCH * batch_count
    execution = (
        EXECUTION_GAS_PER_FILING * batch_count
        if batch_count
        else EXECUTION_GAS_PER_ORGANIZATION_EVENT
    )
    return (
        len(payload) + ABI_BYTES_PER_EVENT + filing_bytes,
        event_gas_bound(payload) + 40 * filing_bytes + execution,
    )


def filed_transaction_gas_bound(costs: Sequence[tuple[int, int]]) -> int:
    """Gas limit for one `recordFiledEvents` transaction of events of these `filed_event_cost`s."""
    return TX_BASE_GAS + CALL_FIXED_GAS + 40 * CALL_OVERHEAD_BYTES + sum(gas for _, gas in costs)


def split_by_cost(
    costs: Sequence[tuple[int, int]], *, max_tx_bytes: int, max_tx_gas: int
) -> Iterator[range]:
    """Consecutive index ranges of events of these (bytes, gas) costs, each fitting one
    transaction's byte and gas budget. An event too large for one transaction raises
    `ValueError`."""
    fixed_gas = TX_BASE_GAS + CALL_FIXED_GAS + 40 * CALL_OVERHEAD_BYTES
    start, size, gas = 0, CALL_OVERHEAD_BYTES, fixed_gas
    for index, (event_size, event_gas) in enumerate(costs):
        if CALL_OVERHEAD_BYTES + event_size > max_tx_bytes or fixed_gas + event_gas > max_tx_gas:
            raise ValueError(
                f"event {index} ({event_size} bytes with its filing) does not fit in one "
                f"transaction (limit {max_tx_bytes} bytes, {max_tx_gas} gas)"
            )
        if size + event_size > max_tx_bytes or gas + event_gas > max_tx_gas:
            yield range(start, index)
            start, size, gas = index, CALL_OVERHEAD_BYTES, fixed_gas
        size += event_size
        gas += event_gas
    if start < len(costs):
        yield range(start, len(costs))
