"""The ledger's lifecycle vocabulary, mirroring the Solidity enums of IProvenanceLedger."""

from __future__ import annotations

from enum import IntEnum


class BatchKind(IntEnum):
    LOT = 0
    ITEM = 1


class BatchStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    QUARANTINED = 2
    RELEASED = 3
    DESTROYED = 4
    RECALLED = 5


class EventKind(IntEnum):
    """An event's effect on the status machine: only INSPECTION and DESTRUCTION are
    accepted while a batch is quarantined or recalled; DESTRUCTION ends its life."""

    OTHER = 0
    INSPECTION = 1
    DESTRUCTION = 2


class ExcursionHold(IntEnum):
    """Whether a held batch's quarantine came from a contract (the cold-chain rule) and waits
    for quality's acknowledgement before it may be released."""

    NONE = 0
    UNACKNOWLEDGED = 1
    ACKNOWLEDGED = 2


SOLIDITY_ENUMS: dict[str, type[IntEnum]] = {
    f"enum IProvenanceLedger.{enum.__name__}": enum
    for enum in (BatchKind, BatchStatus, EventKind, ExcursionHold)
}
