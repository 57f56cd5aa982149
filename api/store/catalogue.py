"""The resolver's view of the read model: which products and lots the ledger records, and
the public record of one."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from sqlmodel import col, select

from api.scan.record import ScanRecord, scan_record
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.catalogue import (
    RecordedBatch,
    bound_subjects,
    lot_change,
    product_batches,
)
from ledger_client.indexer.queries import batch_history, organizations
from ledger_client.indexer.read_model import Batch


@dataclass(frozen=True)
class ReadModelCatalogue:
    """Reads the indexer's read model (`engine`); every call is one short session."""

    engine: Engine

    def product(self, gtin: str) -> list[RecordedBatch]:
        """The recorded lots and items of `gtin` (14 digits); empty when none."""
        with Session(self.engine) as session:
            return product_batches(session, gtin=gtin)

    def change(self, identifier: DigitalLink) -> Hashable | None:
        """A mark of the lot's last indexed change; None when it is not recorded."""
        with self.engine.connect() as connection:
            return lot_change(connection, batch_id=identifier.batch_id)

    def record(self, identifier: DigitalLink) -> ScanRecord | None:
        """The public record of a lot or item; None when the ledger does not record it."""
        with Session(self.engine) as session:
            history = batch_history(session, batch_id=identifier.batch_id)
            if history is None:
                return None
            related = history.parents + history.children
            uris = (
                dict(
                    session.execute(
                        select(Batch.batch_id, Batch.uri).where(col(Batch.batch_id).in_(related))
                    ).all()
                )
                if related
                else {}
            )
            by_account = {o.account: o for o in organizations(session)}
            subjects = bound_subjects(session, batch_id=history.batch.batch_id)
        return scan_record(history, organizations=by_account, uris=uris, subjects=subjects)
