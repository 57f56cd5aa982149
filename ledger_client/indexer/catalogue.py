"""What the read model knows of a product: its lots and items, by GTIN (for the resolver's
walk-up from an unknown lot to its product)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session
from sqlmodel import col, select

from ledger_client.identifiers import GS1_RESOLVER
from ledger_client.indexer.read_model import Batch

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
