"""LedgerWriter.create_batches against a real anvil: many lots and items created at once,
and a refused one sending nothing."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from ledger_client.errors import ContractRevert
from ledger_client.ledger import BatchKind, BatchStatus, batch_id_of

pytestmark = pytest.mark.integration

GTIN = "09506000134352"
LOTS = [f"https://id.gs1.org/01/{GTIN}/10/MANY-{n}" for n in range(12)]
ITEM = f"https://id.gs1.org/01/{GTIN}/21/MANY-SN-1"


def test_many_lots_and_items_are_created_at_once(consortium):
    writer = consortium.writer()
    vaccine = keccak(text="vaccine")
    batches = [(uri, BatchKind.LOT, vaccine) for uri in LOTS]
    batches.append((ITEM, BatchKind.ITEM, b"\x00" * 32))

    ids = writer.create_batches(batches)

    assert ids == [batch_id_of(uri) for uri, _, _ in batches]
    states = [writer.batch(batch_id) for batch_id in ids]
    assert [s.status for s in states] == [BatchStatus.ACTIVE] * len(batches)
    assert [s.kind for s in states] == [BatchKind.LOT] * len(LOTS) + [BatchKind.ITEM]


def test_one_refused_creation_sends_none(consortium):
    writer = consortium.writer()
    writer.create_batch(LOTS[3])
    batches = [(uri, BatchKind.LOT, b"\x00" * 32) for uri in LOTS]

    with pytest.raises(ContractRevert, match="ProvenanceLedgerBatchExists"):
        writer.create_batches(batches)

    others = [batch_id_of(uri) for n, uri in enumerate(LOTS) if n != 3]
    assert {writer.batch(b).status for b in others} == {BatchStatus.NONE}


def test_no_batches_create_nothing(consortium):
    assert consortium.writer().create_batches([]) == []
