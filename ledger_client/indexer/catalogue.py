"""What the read model knows of a product: its lots and items, by GTIN (for the resolver's
walk-up from an unknown lot to its product), the DIDs bound to a lot (to find the
credentials about it), and a cheap mark of a lot's last indexed change (to keep what is
built from its record until it changes)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, exists, text, tuple_
from sqlalchemy.orm import Session
from sqlmodel import col, select

from ledger_client.identifiers import GS1_RESOLVER
from ledger_client.indexer.queries import batch_key
from ledger_client.indexer.read_model import Batch, SubjectBinding

MAX_LISTED = 200


@dataclass(frozen=True)
class RecordedBatch:
    batch_id: str
    uri: str
    kind: str


def product_batches(session: Session, *, gtin: str, limit: int = MAX_LISTED) -> list[RecordedBatch]:
    """The lots and items of GTIN `gtin` (14 digits) the ledger records, by URI, at most
    `limit` of them."""
    prefix = f"{GS1_RESOLVER}/01/{gtin}/"
    # A range on the canonical URI: every lot and item of the GTIN shares this prefix.
    rows = session.execute(
        select(Batch.batch_id, Batch.uri, Batch.kind)
        .where(col(Batch.uri) >= prefix, col(Batch.uri) < prefix[:-1] + "0")
        .order_by(col(Batch.uri))
        .limit(limit)
    ).all()
    return [RecordedBatch(batch_id, uri, kind) for batch_id, uri, kind in rows]


def bound_subjects(session: Session, *, batch_id: str) -> list[str]:
    """The DIDs bound to batch `batch_id` (`0x` hex) by their latest binding, oldest first."""
    binding = SubjectBinding.__table__.c  # type: ignore[attr-defined]
    later = SubjectBinding.__table__.alias("later")  # type: ignore[attr-defined]
    superseded = exists().where(
        later.c.did == binding.did,
        tuple_(later.c.block_number, later.c.log_index)
        > tuple_(binding.block_number, binding.log_index),
    )
    return list(
        session.scalars(
            select(binding.did)
            .where(binding.entity_id == batch_id, ~superseded)
            .order_by(binding.block_number, binding.log_index)
        )
    )


# One statement of index lookups: the lot's last event (a reorg that replaces it moves its
# transaction), its status changes, its genealogy rows, the bindings of its DIDs (a DID
# moved away counts too) and the organizations (their names are shown). The indexer only
# appends, and undoes a reorg by deleting, so any change of the lot's record changes one.
_LOT_CHANGE = text(
    """
    SELECT
      (SELECT count(*) FROM batch WHERE batch_id = :b),
      (SELECT event_index || ' ' || tx_hash FROM ledger_event WHERE batch_id = :b
         ORDER BY event_index DESC LIMIT 1),
      (SELECT count(*) FROM status_change WHERE batch_id = :b),
      (SELECT max(block_number) FROM status_change WHERE batch_id = :b),
      (SELECT count(*) FROM batch_parent WHERE child_id = :b),
      (SELECT count(*) FROM batch_parent WHERE parent_id = :b),
      (SELECT count(*) FROM subject_binding WHERE did IN
         (SELECT did FROM subject_binding WHERE entity_id = :b)),
      (SELECT max(block_number) FROM subject_binding WHERE entity_id = :b),
      (SELECT count(*) FROM organization),
      (SELECT max(block_number) FROM organization)
    """
)


def lot_change(connection: Connection, *, batch_id: str | bytes) -> tuple[object, ...] | None:
    """A mark of everything the lot's record depends on, equal between two calls only when
    nothing of it was indexed (or undone) in between; None when the lot is not recorded."""
    key = batch_key(batch_id)
    recorded, *marks = connection.execute(_LOT_CHANGE, {"b": key}).one()
    return (key, *marks) if recorded else None
