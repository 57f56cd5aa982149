"""The submitter lease: several bridge instances share one database, one of them sends.

Every instance ingests and closes windows (both safe to run side by side), but anchoring
and submitting stay with one holder at a time: the oracle's nonce order is what keeps a
window's anchoring ahead of its submission, and a window sent by two instances would be
anchored twice. The holder renews the lease on every pass; when it stops it gives the lease
up, and when it dies another instance takes over once the lease expires, resolving what
the dead one sent from the chain (receipts, `ReadingsAnchored` logs, the compliance state).

The lease is held by a process, not by a name: two processes under one instance name (two
bridges started with default settings on one host) are two holders, so they can never both
believe they send. A restarted instance still takes its lease back at once: a holder of its
name on its host whose process has ended is taken over without waiting for the expiry.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger_client.db import for_writing, table_of
from oracle_bridge.store import SubmitterLease

_LEASE = table_of(SubmitterLease)
_NAME = "submitter"
_HOLDER = re.compile(r"^(?P<name>.*) \[pid (?P<pid>\d+) on (?P<host>.*)\]$")


def _running(pid: int) -> bool:
    """Whether process `pid` of this host runs (a zombie has ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


class Lease:
    """The submitter role, held by this process under the instance `name`, `ttl_s` long from
    each renewal."""

    def __init__(
        self,
        engine: Engine,
        *,
        holder: str,
        ttl_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = holder
        self._host, self._pid = socket.gethostname(), os.getpid()
        self.holder = f"{holder} [pid {self._pid} on {self._host}]"
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
                holder = connection.execute(
                    select(_LEASE.c.holder).where(_LEASE.c.name == _NAME)
                ).scalar()
                if holder is not None:
                    # This instance before a restart: its process has ended, take over now.
                    return self._abandoned(holder) and bool(
                        connection.execute(
                            update(_LEASE)
                            .where(_LEASE.c.name == _NAME, _LEASE.c.holder == holder)
                            .values(holder=self.holder, expires_at=now + self.ttl_s)
                        ).rowcount
                    )
                connection.execute(
                    insert(_LEASE).values(
                        name=_NAME, holder=self.holder, expires_at=now + self.ttl_s
                    )
                )
                return True
        except IntegrityError:
            # Another instance created the lease first.
            return False

    def namesake(self) -> str | None:
        """The holder of an unexpired lease that is another process under this instance's
        name, unless it has ended on this host (None: no such holder)."""
        with self._writer.connect() as connection:
            row = connection.execute(
                select(_LEASE.c.holder, _LEASE.c.expires_at).where(_LEASE.c.name == _NAME)
            ).first()
        if row is None or row.expires_at <= self._clock() or row.holder == self.holder:
            return None
        match = _HOLDER.match(row.holder)
        if match is None or match["name"] != self.name or self._abandoned(row.holder):
            return None
        return row.holder

    def _abandoned(self, holder: str) -> bool:
        """Whether `holder` is a process under this instance's name on this host that has
        ended."""
        match = _HOLDER.match(holder)
        return (
            match is not None
            and match["name"] == self.name
            and match["host"] == self._host
            and int(match["pid"]) != self._pid
            and not _running(int(match["pid"]))
        )

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
