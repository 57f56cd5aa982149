"""How many readings a bridge database holds in each state, for the node's metrics."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlmodel import col

from oracle_bridge.store import (
    DeadLetter,
    InboxReading,
    ReadingWindow,
    WindowStatus,
    reading_session,
)


@dataclass(frozen=True)
class ReadingTotals:
    """Readings accepted (in the inbox), dead-lettered, anchored (in an anchored window) and
    waiting for a window (the inbox backlog), over the database's whole life."""

    accepted: int
    dead_lettered: int
    anchored: int
    backlog: int


def reading_totals(engine: Engine) -> ReadingTotals:
    """The totals of the bridge database behind `engine`, read in one session.

    Raises:
        SQLAlchemyError: the database does not answer.
    """
    with reading_session(engine) as session:
        accepted = session.scalar(select(func.count()).select_from(InboxReading))
        dead = session.scalar(select(func.count()).select_from(DeadLetter))
        anchored = session.scalar(
            select(func.count())
            .select_from(InboxReading)
            .join(ReadingWindow, col(InboxReading.window_id) == col(ReadingWindow.id))
            .where(col(ReadingWindow.status) == WindowStatus.ANCHORED)
        )
        backlog = session.scalar(
            select(func.count())
            .select_from(InboxReading)
            .where(col(InboxReading.window_id).is_(None))
        )
    return ReadingTotals(
        accepted=accepted or 0,
        dead_lettered=dead or 0,
        anchored=anchored or 0,
        backlog=backlog or 0,
    )
