"""The submitter lease: several bridge instances share one database, one of them sends.

Every instance ingests and closes windows (both safe to run side by side), but anchoring
and submitting stay with one holder at a time: the oracle's nonce order is what keeps a
window's anchoring ahead of its submission, and a window sent by two instances would be
anchored twice. The holder renews the lease on every pass; when it stops it gives the lease
up, and when it dies another instance takes over once the lease expires, resolving what
the dead one sent from the chain (receipts, `ReadingsAnchored` logs, the compliance state).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger_client.indexer.database import for_writing
from ledger_client.indexer.read_model import table_of
from oracle_bridge.store import SubmitterLease

_LEASE = table_of(SubmitterLease)
_NAME = "submitter"


class Lease:
    """`holder`'s claim on the submitter role, `ttl_s` long from each renewal."""

    def __init__(
        self,
        engine: Engine,
        *,
        holder: str,
        ttl_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.holder = holder
        self.ttl_s = ttl_s
        self._writer = for_writing(engine)
        self._clock = clock

    def hold(self) -> bool:
        """Take or renew the lease; whether this instance holds it now."""
        now = self._clock()
        try:
            with self._writer.begin() as connection:
                taken = connection.execute(
                    update(_LEASE)
                    .where(
                        _LEASE.c.name == _NAME,
                        (_LEASE.c.holder == self.holder) | (_LEASE.c.expires_at <= now),
                    )
                    .values(holder=self.holder, expires_at=now + self.ttl_s)
                ).rowcount
                if taken:
                    return True
                exists = connection.execute(
                    select(_LEASE.c.name).where(_LEASE.c.name == _NAME)
                ).first()
                if exists:
                    return False
                connection.execute(
                    insert(_LEASE).values(
                        name=_NAME, holder=self.holder, expires_at=now + self.ttl_s
                    )
                )
                return True
        except IntegrityError:
            # Another instance created the lease first.
            return False

    def held_in(self, connection: Connection) -> bool:
        """Whether the lease is still this instance's, read inside the caller's write
        transaction: the fence a send is recorded behind."""
        expires_at = connection.execute(
            select(_LEASE.c.expires_at).where(
                _LEASE.c.name == _NAME, _LEASE.c.holder == self.holder
            )
        ).scalar()
        return expires_at is not None and expires_at > self._clock()

    def release(self) -> None:
        """Give the lease up (a clean stop): another instance may take it at once."""
        with self._writer.begin() as connection:
            connection.execute(
                update(_LEASE)
                .where(_LEASE.c.name == _NAME, _LEASE.c.holder == self.holder)
                .values(expires_at=0.0)
            )
