"""The indexer on a real anvil into SQLite and PostgreSQL: content, restarts, chunking."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from eth_utils import keccak
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger_client.chain import rpc
from ledger_client.indexer import queries
from ledger_client.indexer.indexer import Indexer, rebuild
from ledger_client.indexer.read_model import (
    LOG_TABLES,
    Checkpoint,
    IndexedBlock,
    LedgerEvent,
)
from ledger_client.ledger import BatchKind, EventKind
from ledger_client.roles import Role
from tests.ledger_client.indexer.indexer_factories import epcis_payload, export_of, record

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/LOT-A"
OTHER_LOT = "https://id.gs1.org/01/09506000134352/10/LOT-B"
ITEM = "https://id.gs1.org/01/09506000134352/21/SN-1"


def populate(consortium) -> dict:
    """One of every log the read model reads; returns what was written."""
    governance = consortium.membership()
    operator = consortium.operator.address
    governance.register_organization(
        operator, did=f"did:pkh:eip155:31337:{operator}", name="Acme Pharma"
    )
    writer = consortium.writer()
    quality = consortium.writer(consortium.quality)
    lot = writer.create_batch(LOT, product_class=keccak(text="vaccine"))
    other = writer.create_batch(OTHER_LOT)
    item = writer.create_batch(ITEM, kind=BatchKind.ITEM, parents=[lot, other, lot])
    payloads = [epcis_payload(i, minute=i) for i in range(5)]
    record(writer, lot, payloads)
    quality.quarantine(lot, "excursion 9.1 °C")
    inspection = epcis_payload(5, biz_step="inspecting", minute=30)
    record(writer, lot, [inspection], EventKind.INSPECTION)
    quality.release(lot, "inspected, fine")
    quality.recall(item, "supplier defect")
    governance.revoke_role(Role.QUALITY, consortium.quality.address)
    governance.set_organization_active(operator, False)
    return {"lot": lot, "other": other, "item": item, "payloads": [*payloads, inspection]}


def test_index_reads_every_kind_of_log(consortium, engine):
    written = populate(consortium)
    progress = Indexer(consortium.w3, consortium.deployment, engine).run_once()
    assert progress.events == 6
    assert progress.checkpoint == progress.head == consortium.w3.eth.block_number
    lot, other, item = ("0x" + written[k].hex() for k in ("lot", "other", "item"))
    with Session(engine) as session:
        history = queries.batch_history(session, batch_id=written["lot"])
        assert history.batch.uri == LOT
        assert history.batch.product_class == "0x" + keccak(text="vaccine").hex()
        assert history.batch.creator == consortium.operator.address
        assert history.status == "RELEASED"
        assert [c.to_status for c in history.status_changes] == ["QUARANTINED", "RELEASED"]
        assert history.status_changes[0].reason == "excursion 9.1 °C"
        assert history.status_changes[1].changed_by == consortium.quality.address
        assert [e.payload.encode() for e in history.events] == written["payloads"]
        assert [e.event_index for e in history.events] == list(range(6))
        assert [e.kind for e in history.events] == ["OTHER"] * 5 + ["INSPECTION"]
        assert all(
            e.payload_hash == "0x" + keccak(e.payload.encode()).hex() for e in history.events
        )
        assert history.events[0].event_time == datetime(
            2026, 11, 21, 9, 0, tzinfo=UTC
        )  # 10:00+01:00
        assert history.events[0].event_type == "ObjectEvent"
        assert history.children == [item]
        assert queries.batch_status(session, batch_id=item) == "RECALLED"
        assert queries.batch_status(session, batch_id=other) == "ACTIVE"
        assert queries.batch_status(session, batch_id="0x" + "00" * 32) is None
        assert sorted(queries.batch_history(session, batch_id=item).parents) == sorted([lot, other])
        assert queries.batch_history(session, batch_id=item).batch.kind == "ITEM"

        inspections = queries.events(session, biz_step="inspecting")
        assert [(e.batch_id, e.kind) for e in inspections] == [(lot, "INSPECTION")]
        assert (
            len(queries.events(session, batch_id=lot, from_time=datetime(2026, 11, 21, 9, 2))) == 4
        )
        assert len(queries.events(session, until_time=datetime(2026, 11, 21, 9, 2), limit=10)) == 2
        assert len(queries.events(session, recorder=consortium.operator.address.lower())) == 6
        assert [e.event_index for e in queries.events(session, limit=2, offset=3)] == [3, 4]

        backward = queries.genealogy(session, batch_id=item, direction="backward")
        assert {(link.parent_id, link.depth) for link in backward} == {(lot, 1), (other, 1)}
        forward = queries.genealogy(session, batch_id=lot, direction=queries.Direction.FORWARD)
        assert [(link.child_id, link.depth) for link in forward] == [(item, 1)]

        assert queries.role_members(session, role="QUALITY") == []
        assert sorted(queries.role_members(session, role="QUARANTINE_ROLE")) == sorted(
            [consortium.deployment.address("ColdChainCompliance"), consortium.quality.address]
        )
        assert queries.role_members(session, role="operator") == [consortium.operator.address]
        assert queries.role_members(session, role="GOVERNOR") == [consortium.governor.address]
        [acme] = queries.organizations(session)
        assert (acme.account, acme.name, acme.active) == (
            consortium.operator.address,
            "Acme Pharma",
            False,
        )

        summary = queries.summary(session)
        assert (summary.batches, summary.events, summary.status_changes, summary.organizations) == (
            3,
            6,
            3,
            1,
        )
        assert summary.events_without_payload == 0
        assert summary.batches_by_status == {"ACTIVE": 1, "RECALLED": 1, "RELEASED": 1}
        assert summary.checkpoint_block == progress.checkpoint


def test_genealogy_walks_several_generations(consortium, engine):
    writer = consortium.writer()
    grandparent = writer.create_batch(LOT)
    parent = writer.create_batch(OTHER_LOT, parents=[grandparent])
    child = writer.create_batch(ITEM, kind=BatchKind.ITEM, parents=[parent, grandparent])
    Indexer(consortium.w3, consortium.deployment, engine).run_once()
    gp, p, c = ("0x" + b.hex() for b in (grandparent, parent, child))
    with Session(engine) as session:
        backward = queries.genealogy(session, batch_id=child, direction="backward")
        forward = queries.genealogy(session, batch_id=gp, direction="forward")
    assert [(link.child_id, link.parent_id, link.depth) for link in backward] == sorted(
        [(c, gp, 1), (c, p, 1), (p, gp, 2)], key=lambda t: (t[2], t[0], t[1])
    )
    assert {(link.child_id, link.parent_id, link.depth) for link in forward} == {
        (c, gp, 1),
        (p, gp, 1),
        (c, p, 2),
    }


def test_restart_resumes_at_the_checkpoint_and_never_writes_twice(consortium, engine):
    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    record(writer, lot, [epcis_payload(i) for i in range(20)])
    first = Indexer(consortium.w3, consortium.deployment, engine).run_once()
    assert first.events == 20
    exported = export_of(engine)

    again = Indexer(consortium.w3, consortium.deployment, engine)  # a restarted process
    assert again.run_once().logs == 0
    assert again.run_once().logs == 0
    assert export_of(engine) == exported

    record(writer, lot, [epcis_payload(i) for i in range(20, 25)])
    resumed = again.run_once()
    assert (resumed.start_block, resumed.events) == (first.checkpoint + 1, 5)
    with Session(engine) as session:
        indexes = session.scalars(
            select(LedgerEvent.event_index).order_by(LedgerEvent.event_index)
        ).all()
    assert indexes == list(range(25))

    # Were the checkpoint ever behind its rows, the database refuses the second copy.
    exported = export_of(engine)
    block = first.checkpoint
    with Session(engine) as session:
        session.execute(
            update(Checkpoint).values(
                block_number=block,
                block_hash=consortium.w3.eth.get_block(block)["hash"].to_0x_hex(),
            )
        )
        session.commit()
    with pytest.raises(IntegrityError):
        Indexer(consortium.w3, consortium.deployment, engine).run_once()
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LedgerEvent)) == 25


def test_small_chunks_capped_logs_and_many_runs_equal_one_rebuild(consortium, databases):
    writer = consortium.writer()
    writer.max_tx_bytes = 2_000  # several transactions, several blocks
    lot = writer.create_batch(LOT)
    incremental = databases.engine()
    indexer = Indexer(
        consortium.w3, consortium.deployment, incremental, chunk_blocks=2, max_logs_per_chunk=3
    )
    for step in range(3):
        # 7 events in one transaction: a block over the log cap is still written whole.
        record(writer, lot, [epcis_payload(10 * step + i) for i in range(7)])
        indexer.run_once()
        writer.create_batch(f"{ITEM}-{step}", kind=BatchKind.ITEM, parents=[lot])
    indexer.run_once()

    rebuilt = databases.engine()
    progress = rebuild(consortium.w3, consortium.deployment, rebuilt)
    assert progress.events == 21
    assert export_of(incremental) == export_of(rebuilt)
    with Session(incremental) as session:
        # Old checkpoints that produced no rows were dropped: only the current one may stay.
        empty = session.scalars(
            select(IndexedBlock.number).where(IndexedBlock.has_rows.is_(False))
        ).all()
    assert empty in ([], [progress.checkpoint])


def _row_blocks(session: Session) -> set[int]:
    return {n for table in LOG_TABLES for n in session.scalars(select(table.block_number))}


def test_confirmations_keep_unconfirmed_blocks_out(consortium, engine):
    w3 = consortium.w3
    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    anchored = [writer.record_events(lot, [(EventKind.OTHER, epcis_payload(i))]) for i in range(4)]
    blocks = [a.receipts[0].block_number for a in anchored]
    assert blocks == sorted(set(blocks)) and w3.eth.block_number == blocks[-1]
    indexer = Indexer(w3, consortium.deployment, engine, confirmations=2)

    progress = indexer.run_once()
    assert progress.checkpoint == blocks[-1] - 2
    with Session(engine) as session:
        assert (
            session.scalars(
                select(LedgerEvent.block_number).order_by(LedgerEvent.block_number)
            ).all()
            == blocks[:2]
        )
        assert max(_row_blocks(session)) <= blocks[-1] - 2
        assert session.scalar(select(func.max(IndexedBlock.number))) == blocks[-1] - 2

    rpc(w3, "anvil_mine", [hex(2)])
    assert indexer.run_once().events == 2
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LedgerEvent)) == 4


def test_payload_is_stored_exactly_as_anchored(consortium, engine):
    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    odd = json.dumps(
        {"type": "ObjectEvent", "note": "ünïcode ✓", "eventTime": "not a time"}
    ).encode()
    record(writer, lot, [odd, b"not json at all"])
    Indexer(consortium.w3, consortium.deployment, engine).run_once()
    with Session(engine) as session:
        stored = session.scalars(select(LedgerEvent).order_by(LedgerEvent.event_index)).all()
    assert [e.payload.encode() for e in stored] == [odd, b"not json at all"]
    assert (stored[0].event_type, stored[0].event_time) == ("ObjectEvent", None)
    assert (stored[1].event_type, stored[1].event_time, stored[1].biz_step) == (None, None, None)
