"""What drafting reads from the bridge's database: each due pair's stored compliance state
and pending inbox rows, made into `drafting.PairJob`s; and the pending readings per pair
the closer times its passes by (`PENDING_PER_PAIR`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, tuple_

from ledger_client.db import driver_rows, table_of
from oracle_bridge.rules import Rule
from oracle_bridge.store import DeviceComplianceState, InboxReading
from oracle_bridge.windows.drafting import STATE_FIELDS, PairJob, PairState

_INBOX = table_of(InboxReading)
_STATE = table_of(DeviceComplianceState)
# A pair's pending readings loaded per pass: a backlog is worked off over several passes.
_WINDOWS_PER_PAIR_AND_PASS = 8
PENDING_COLUMNS = (
    _INBOX.c.id,
    _INBOX.c.seq,
    _INBOX.c.timestamp,
    _INBOX.c.temp_milli_c,
    _INBOX.c.humidity_permille,
    _INBOX.c.signature,
    _INBOX.c.received_at,
)
# Per pair with pending readings: how many, when the oldest and the newest were received,
# the lowest and highest seq (the pending rows found by their index, grouped here).
PENDING_PER_PAIR = (
    select(
        _INBOX.c.batch_id,
        _INBOX.c.device,
        func.count().label("pending"),
        func.min(_INBOX.c.received_at).label("oldest"),
        func.max(_INBOX.c.received_at).label("newest"),
        func.min(_INBOX.c.seq).label("first"),
        func.max(_INBOX.c.seq).label("last"),
    )
    .where(_INBOX.c.window_id.is_(None))
    .group_by(_INBOX.c.batch_id, _INBOX.c.device)
)
# A pair's pending readings lie above its last windowed seq (ingest refuses a seq at or
# below a device's windowed ones): the unique (device, seq) index walks just those.
_PENDING_OF_PAIR = (
    select(*PENDING_COLUMNS)
    .where(
        _INBOX.c.device == bindparam("p_device"),
        _INBOX.c.seq > bindparam("p_after"),
        _INBOX.c.batch_id == bindparam("p_batch"),
        _INBOX.c.window_id.is_(None),
    )
    .order_by(_INBOX.c.seq)
    .limit(bindparam("p_limit"))
)
# (batch, device) pairs or (device, seq) pairs per look-up statement.
_PAIRS_PER_LOOKUP = 400
_STATES_OF_PAIRS = select(_STATE).where(
    tuple_(_STATE.c.batch_id, _STATE.c.device).in_(bindparam("pairs", expanding=True))
)
_ROWS_AT = select(_INBOX.c.device, *PENDING_COLUMNS).where(
    tuple_(_INBOX.c.device, _INBOX.c.seq).in_(bindparam("keys", expanding=True))
)


def stored_states(
    connection: Connection, pairs: Sequence[tuple[bytes, str]]
) -> dict[tuple[bytes, str], PairState]:
    """The stored compliance states of the (batch, device) pairs that have one."""
    found = {}
    for start in range(0, len(pairs), _PAIRS_PER_LOOKUP):
        chunk = list(pairs[start : start + _PAIRS_PER_LOOKUP])
        rows = connection.execute(_STATES_OF_PAIRS, {"pairs": chunk})
        for row in rows:
            found[(row.batch_id, row.device)] = PairState(
                **{n: row._mapping[n] for n in STATE_FIELDS}
            )
    return found


def _rows_at(connection: Connection, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], Any]:
    """The inbox rows (`PENDING_COLUMNS`) of the (device, seq) pairs."""
    found = {}
    for start in range(0, len(keys), _PAIRS_PER_LOOKUP):
        chunk = list(keys[start : start + _PAIRS_PER_LOOKUP])
        rows = connection.execute(_ROWS_AT, {"keys": chunk})
        for row in rows:
            found[(row[0], row[2])] = tuple(row[1:])
    return found


@dataclass(frozen=True)
class DraftOptions:
    """What a pass's drafting needs besides the pairs and their rules (picklable)."""

    now: float
    watched: set[tuple[bytes, str]]
    # Pairs due for their device's silence: their contiguous pending readings close as if old.
    idle: frozenset[tuple[bytes, str]]
    max_readings: int
    max_age_s: float
    submission_max_readings: int


def read_jobs(
    connection: Connection,
    pairs: Sequence[tuple[bytes, str]],
    rules: dict[bytes, Rule],
    options: DraftOptions,
    *,
    with_previous: bool = False,
) -> list[PairJob]:
    """The drafting jobs of `pairs` from one read: states, pending rows and, if asked, each
    pair's reading at its `last_seq`."""
    states = stored_states(connection, pairs)
    limit = options.max_readings * _WINDOWS_PER_PAIR_AND_PASS
    previous_rows = (
        _rows_at(
            connection,
            [
                (device, state.last_seq)
                for (_, device), state in states.items()
                if state.last_seq and state.halted_reason is None
            ],
        )
        if with_previous
        else {}
    )
    jobs = []
    for batch_id, device in pairs:
        state = states.get((batch_id, device)) or PairState()
        rows = driver_rows(
            connection,
            _PENDING_OF_PAIR,
            {"p_batch": batch_id, "p_device": device, "p_after": state.last_seq, "p_limit": limit},
        )
        now = options.now
        if (batch_id, device) in options.idle and _follows(state, rows):
            now += options.max_age_s  # every pending reading counts as old enough
        jobs.append(
            PairJob(
                batch_id=batch_id,
                device=device,
                rule=rules[batch_id],
                rows=rows,
                state=state,
                previous_row=previous_rows.get((device, state.last_seq)),
                previous_read=with_previous,
                now=now,
                watched=(batch_id, device) in options.watched,
                max_readings=options.max_readings,
                max_age_s=options.max_age_s,
                submission_max_readings=options.submission_max_readings,
            )
        )
    return jobs


def _follows(state: PairState, rows: Sequence[tuple[Any, ...]]) -> bool:
    """Whether pending `rows` (`PENDING_COLUMNS`, seq order) continue the pair's windowed
    readings with no seq missing, before or between them."""
    if not rows:
        return False
    first, last = rows[0][1], rows[-1][1]
    return last - first + 1 == len(rows) and (state.last_seq == 0 or first == state.last_seq + 1)
