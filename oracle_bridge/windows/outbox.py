"""Writing a pass's drafted windows, in one transaction: the windows (the anchoring outbox),
their readings' marks, the pairs' compliance states and the `submitReadings` outbox entries;
refused (`Conflict`) when a pair changed since its draft was read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import CompoundSelect, Connection, Engine, bindparam, insert, select, update

from ledger_client.db import (
    LOOKUPS_PER_UNION,
    for_writing,
    table_of,
    union_lookup_rows,
    union_of_lookups,
)
from oracle_bridge.ingest import lock_devices
from oracle_bridge.store import (
    ComplianceSubmission,
    DeviceComplianceState,
    InboxReading,
    ReadingWindow,
)
from oracle_bridge.windows.drafting import STATE_FIELDS, PairDraft, PairState
from oracle_bridge.windows.inbox import stored_states

_INBOX = table_of(InboxReading)
_WINDOW = table_of(ReadingWindow)
_SUBMISSION = table_of(ComplianceSubmission)
_STATE = table_of(DeviceComplianceState)
_MARK_READINGS = (
    update(_INBOX)
    .where(
        _INBOX.c.device == bindparam("m_device"),
        _INBOX.c.seq >= bindparam("m_first"),
        _INBOX.c.seq <= bindparam("m_last"),
        _INBOX.c.window_id.is_(None),
    )
    .values(window_id=bindparam("m_window"))
)
_UPDATE_STATE = (
    update(_STATE)
    .where(_STATE.c.batch_id == bindparam("s_batch_id"), _STATE.c.device == bindparam("s_device"))
    .values({name: bindparam(f"s_{name}") for name in STATE_FIELDS})
)


@dataclass(frozen=True)
class ClosedWindow:
    window_id: int
    batch_id: bytes
    device: str
    first_seq: int
    last_seq: int
    submissions: int


class Conflict(Exception):
    """A pair changed between drafting and writing its windows."""


def write_windows(
    engine: Engine, drafts: Sequence[PairDraft], *, clock: Callable[[], float]
) -> list[ClosedWindow]:
    """Write the drafted windows, their readings' marks, states and submissions at once.

    Raises:
        Conflict: a pair's state or readings changed since its draft was made.
    """
    planned = [(draft, window) for draft in drafts for window in draft.windows]
    with for_writing(engine).begin() as connection:
        lock_devices(connection, sorted({d.device for d in drafts}))
        current = stored_states(connection, [(d.batch_id, d.device) for d in drafts])
        for draft in drafts:
            state = current.get((draft.batch_id, draft.device)) or PairState()
            if (state.last_seq, state.last_submitted_seq, state.halted_reason) != draft.before:
                raise Conflict
        now = clock()
        ids: Sequence[int] = (
            connection.execute(
                insert(_WINDOW).returning(_WINDOW.c.id, sort_by_parameter_order=True),
                [
                    {
                        "batch_id": draft.batch_id,
                        "device": draft.device,
                        "first_seq": window.first_seq,
                        "last_seq": window.last_seq,
                        "merkle_root": window.merkle_root,
                        "packed": window.packed,
                        "created_at": now,
                    }
                    for draft, window in planned
                ],
            )
            .scalars()
            .all()
        )
        taken = connection.execute(
            _MARK_READINGS,
            [
                {
                    "m_window": window_id,
                    "m_device": draft.device,
                    "m_first": window.first_seq,
                    "m_last": window.last_seq,
                }
                for window_id, (draft, window) in zip(ids, planned, strict=True)
            ],
        ).rowcount
        if taken != sum(window.count for _, window in planned):
            raise Conflict
        if _left_behind(connection, drafts):
            # A late reading arrived below a drafted window: the next pass takes it.
            raise Conflict
        submissions = [
            {
                "batch_id": draft.batch_id,
                "device": draft.device,
                "window_id": window_id,
                "reading_ids": reading_ids,
                "decisions": decisions,
                "created_at": now,
            }
            for window_id, (draft, window) in zip(ids, planned, strict=True)
            for reading_ids, decisions in window.submissions
        ]
        if submissions:
            connection.execute(insert(_SUBMISSION), submissions)
        states = [{"batch_id": d.batch_id, "device": d.device, **d.state.values()} for d in drafts]
        known = [s for s in states if (s["batch_id"], s["device"]) in current]
        if known:
            connection.execute(_UPDATE_STATE, [{f"s_{k}": v for k, v in s.items()} for s in known])
        new = [s for s in states if (s["batch_id"], s["device"]) not in current]
        if new:
            connection.execute(insert(_STATE), new)
    return [
        ClosedWindow(
            window_id,
            draft.batch_id,
            draft.device,
            window.first_seq,
            window.last_seq,
            len(window.submissions),
        )
        for window_id, (draft, window) in zip(ids, planned, strict=True)
    ]


def _left_behind(connection: Connection, drafts: Sequence[PairDraft]) -> bool:
    """Whether a pair still has a pending reading below its last drafted window's end (a
    reading stored after the draft was made, in a gap the window closed over)."""
    lookups = [
        {
            "device": d.device,
            "batch": d.batch_id,
            "after": d.before[0],
            "until": d.windows[-1].last_seq,
        }
        for d in drafts
    ]
    return any(True for _ in union_lookup_rows(connection, _pending_between_statement, lookups))


# Cached per pair count: building the statement anew costs far more than executing it.
@lru_cache(maxsize=LOOKUPS_PER_UNION)
def _pending_between_statement(count: int) -> CompoundSelect:
    """Any one pending reading of pair n with `after_n < seq <= until_n`, for each n."""
    return union_of_lookups(
        lambda n: (
            select(_INBOX.c.id)
            .where(
                _INBOX.c.device == bindparam(f"device_{n}"),
                _INBOX.c.seq > bindparam(f"after_{n}"),
                _INBOX.c.seq <= bindparam(f"until_{n}"),
                _INBOX.c.batch_id == bindparam(f"batch_{n}"),
                _INBOX.c.window_id.is_(None),
            )
            .limit(1)
        ),
        count,
    )
