"""The reading totals a node's metrics report: accepted, dead-lettered, anchored, backlog."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from oracle_bridge.store import DeadLetter, InboxReading, ReadingWindow, WindowStatus
from oracle_bridge.totals import ReadingTotals, reading_totals

pytestmark = pytest.mark.unit

DEVICE = "0x" + "ab" * 20
BATCH = b"\x01" * 32


def window(first_seq: int, last_seq: int, status: WindowStatus) -> ReadingWindow:
    return ReadingWindow(
        batch_id=BATCH,
        device=DEVICE,
        first_seq=first_seq,
        last_seq=last_seq,
        merkle_root=b"\x00" * 32,
        packed=b"",
        status=status,
        created_at=0.0,
    )


def reading(seq: int, window: ReadingWindow | None) -> InboxReading:
    return InboxReading(
        device=DEVICE,
        batch_id=BATCH,
        seq=seq,
        timestamp=seq,
        temp_milli_c=4_000,
        humidity_permille=500,
        signature=b"\x00" * 65,
        digest=b"\x00" * 32,
        received_at=0.0,
        source="http",
        window_id=window.id if window is not None else None,
    )


def test_an_empty_database_has_nothing(engine: Engine):
    assert reading_totals(engine) == ReadingTotals(
        accepted=0, dead_lettered=0, anchored=0, backlog=0
    )


def test_readings_are_counted_by_state(engine: Engine):
    with Session(engine) as session:
        anchored, sent = window(1, 3, WindowStatus.ANCHORED), window(4, 5, WindowStatus.SENT)
        session.add_all([anchored, sent])
        session.flush()
        session.add_all([reading(seq, anchored) for seq in (1, 2, 3)])
        session.add_all([reading(seq, sent) for seq in (4, 5)])
        session.add_all([reading(seq, None) for seq in (6, 7)])
        session.add(
            DeadLetter(received_at=0.0, source="mqtt", payload=b"{}", reason_code="bad", reason="x")
        )
        session.commit()
    assert reading_totals(engine) == ReadingTotals(
        accepted=7, dead_lettered=1, anchored=3, backlog=2
    )
