"""`driver_rows` reads exactly what SQLAlchemy reads, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select

from ledger_client.db import driver_rows, for_writing, table_of
from oracle_bridge.store import InboxReading
from tests.factories import BridgeDatabases

INBOX = table_of(InboxReading)
PENDING = (
    select(INBOX.c.id, INBOX.c.seq, INBOX.c.signature, INBOX.c.received_at, INBOX.c.device)
    .where(INBOX.c.batch_id == bindparam("batch"), INBOX.c.window_id.is_(None))
    .order_by(INBOX.c.seq)
    .limit(bindparam("limit"))
)


def row(seq: int, batch: bytes) -> dict[str, object]:
    return {
        "device": "0x" + "ab" * 20,
        "batch_id": batch,
        "seq": seq,
        "timestamp": 1_700_000_000 + seq,
        "temp_milli_c": -2500 + seq,
        "humidity_permille": 500,
        "signature": bytes([seq]) * 65,
        "digest": bytes([seq]) * 32,
        "received_at": 1.5 + seq,
        "source": "test",
    }


def test_driver_rows_are_the_rows_sqlalchemy_reads(databases: BridgeDatabases) -> None:
    engine = databases.engine()
    with for_writing(engine).begin() as connection:
        connection.execute(
            insert(INBOX), [row(seq, b"\x01" * 32) for seq in (3, 1, 2, 4)] + [row(9, b"\x02" * 32)]
        )
    parameters = {"batch": b"\x01" * 32, "limit": 3}
    with engine.connect() as connection:
        expected = [tuple(r) for r in connection.execute(PENDING, parameters)]
        rows = driver_rows(connection, PENDING, parameters)

    assert rows == expected
    assert [r[1] for r in rows] == [1, 2, 3]
    assert rows[0][2] == bytes([1]) * 65 and isinstance(rows[0][2], bytes)
    assert all(type(r) is tuple for r in rows)
