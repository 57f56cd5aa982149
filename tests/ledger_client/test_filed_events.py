"""`LedgerWriter.record_filed_events` against a real anvil: each event filed under every lot
and item it names, or under the organization, and every refusal raised before anything is sent."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from ledger_client.batching import filed_event_cost, filed_transaction_gas_bound
from ledger_client.errors import ContractRevert
from ledger_client.ledger import BatchKind, BatchStatus, EventKind, FiledEvent
from ledger_client.roles import Role

pytestmark = pytest.mark.integration

LOT_A = "https://id.gs1.org/01/09506000134352/10/LOT-A"
LOT_B = "https://id.gs1.org/01/09506000134352/10/LOT-B"
ITEM = "https://id.gs1.org/01/09506000134352/21/SN-1"


def payload(n: int) -> bytes:
    return b'{"eventTime":"2026-11-21T10:00:00Z","n":%d,"type":"ObjectEvent"}' % n


def nonce(consortium, account) -> int:
    return consortium.w3.eth.get_transaction_count(account.address)


def test_each_event_is_filed_under_every_batch_it_names_across_transactions(consortium):
    writer = consortium.writer()
    writer.max_tx_bytes = 4_096  # force several transactions
    lot_a, lot_b = writer.create_batch(LOT_A), writer.create_batch(LOT_B)
    item = writer.create_batch(ITEM, kind=BatchKind.ITEM, parents=[lot_a])
    # Unsorted, one id repeated: a filing is the set of batches named.
    filings = [(lot_b, lot_a, lot_b), (item,), ()]
    events = [FiledEvent(EventKind.OTHER, payload(i) * 10, filings[i % 3]) for i in range(30)]
    progress: list[int] = []

    anchored = writer.record_filed_events(events, on_progress=progress.append)

    assert len(anchored.receipts) > 1
    assert anchored.event_count == 30 == sum(progress)
    assert writer.batch(lot_a).event_count == 10
    assert writer.batch(lot_b).event_count == 10
    assert writer.batch(item).event_count == 10
    assert writer.organization_event_count(consortium.operator.address) == 10
    assert writer.organization_event_count(consortium.quality.address) == 0


def test_a_quarantined_lot_among_others_is_refused_naming_it_before_anything_is_sent(consortium):
    writer = consortium.writer()
    lot_a, lot_b = writer.create_batch(LOT_A), writer.create_batch(LOT_B)
    consortium.writer(consortium.quality).quarantine(lot_b, "excursion")
    before = nonce(consortium, consortium.operator)
    events = [
        FiledEvent(EventKind.OTHER, payload(0), (lot_a,)),
        FiledEvent(EventKind.OTHER, payload(1), ()),
        FiledEvent(EventKind.OTHER, payload(2), (lot_a, lot_b)),
    ]
    with pytest.raises(ContractRevert) as info:
        writer.record_filed_events(events)
    assert info.value.error == "ProvenanceLedgerBatchQuarantined"
    assert info.value.error_args["batchId"] == "0x" + lot_b.hex()
    assert nonce(consortium, consortium.operator) == before
    assert writer.batch(lot_a).event_count == 0
    assert writer.organization_event_count(consortium.operator.address) == 0

    # Also when the refused event would go out in a later transaction than the first.
    writer.max_tx_bytes = 2_048
    many = [FiledEvent(EventKind.OTHER, payload(i) * 20, (lot_a,)) for i in range(8)]
    with pytest.raises(ContractRevert, match="ProvenanceLedgerBatchQuarantined"):
        writer.record_filed_events([*many, FiledEvent(EventKind.OTHER, payload(9), (lot_b,))])
    assert nonce(consortium, consortium.operator) == before

    # An inspection of both is what a quarantined lot accepts.
    writer.record_filed_events([FiledEvent(EventKind.INSPECTION, payload(3), (lot_a, lot_b))])
    assert writer.batch(lot_a).event_count == writer.batch(lot_b).event_count == 1


def test_an_organization_without_the_right_is_refused_naming_the_lot_and_itself(consortium):
    writer = consortium.writer()
    lot_a = writer.create_batch(LOT_A)
    rival = consortium.quality
    consortium.membership().grant_role(Role.OPERATOR, rival.address)
    before = nonce(consortium, rival)
    with pytest.raises(ContractRevert) as info:
        consortium.writer(rival).record_filed_events(
            [FiledEvent(EventKind.OTHER, payload(0), (lot_a,))]
        )
    assert info.value.error == "ProvenanceLedgerNotBatchWriter"
    assert info.value.error_args["batchId"] == "0x" + lot_a.hex()
    assert info.value.error_args["account"] == rival.address
    assert nonce(consortium, rival) == before
    assert writer.batch(lot_a).event_count == 0

    # Once the owner authorizes it, it writes, but never destroys.
    writer.authorize_writer(lot_a, rival.address)
    consortium.writer(rival).record_filed_events(
        [FiledEvent(EventKind.INSPECTION, payload(1), (lot_a,))]
    )
    with pytest.raises(ContractRevert, match="ProvenanceLedgerNotBatchHolder"):
        consortium.writer(rival).record_filed_events(
            [FiledEvent(EventKind.DESTRUCTION, payload(2), (lot_a,))]
        )
    assert writer.batch(lot_a).event_count == 1
    assert writer.batch(lot_a).status is BatchStatus.ACTIVE


def test_an_account_without_the_operator_role_is_refused_naming_the_role(consortium):
    with pytest.raises(ContractRevert) as info:
        consortium.writer(consortium.outsider).record_filed_events(
            [FiledEvent(EventKind.OTHER, payload(0), ())]
        )
    assert info.value.error == "MembershipUnauthorizedAccount"
    assert info.value.error_args["role"] == "OPERATOR_ROLE"


@pytest.mark.parametrize(
    ("events", "error", "args"),
    [
        ([], "ProvenanceLedgerNoEvents", {"batchId": "0x" + "00" * 32}),
        (
            [FiledEvent(EventKind.OTHER, payload(0), ()), FiledEvent(EventKind.OTHER, b"", ())],
            "ProvenanceLedgerEmptyPayload",
            {"batchId": "0x" + "00" * 32, "position": 1},
        ),
        (
            [FiledEvent(EventKind.DESTRUCTION, payload(0), ())],
            "ProvenanceLedgerUnfiledDestruction",
            {"position": 0},
        ),
        (
            [FiledEvent(EventKind.OTHER, payload(0), (keccak(text="nothing"),))],
            "ProvenanceLedgerUnknownBatch",
            {"batchId": "0x" + keccak(text="nothing").hex()},
        ),
    ],
)
def test_a_bad_request_is_refused_with_its_error_and_sends_nothing(consortium, events, error, args):
    before = nonce(consortium, consortium.operator)
    with pytest.raises(ContractRevert) as info:
        consortium.writer().record_filed_events(events)
    assert info.value.error == error
    assert {k: info.value.error_args[k] for k in args} == args
    assert nonce(consortium, consortium.operator) == before


def test_a_batch_id_that_is_not_32_bytes_is_refused_before_the_chain_is_asked(consortium):
    with pytest.raises(ValueError, match="event 1 is filed under .*32 bytes"):
        consortium.writer().record_filed_events(
            [
                FiledEvent(EventKind.OTHER, payload(0), ()),
                FiledEvent(EventKind.OTHER, payload(1), (b"\x01" * 31,)),
            ]
        )


def test_the_gas_bound_covers_a_writer_filing_under_many_lots(consortium):
    """The worst case per batch: an authorized writer (the grant's cold reads) filing under
    lots it touches for the first time in the transaction, and a first organization event."""
    owner, lab = consortium.writer(), consortium.writer(consortium.quality)
    consortium.membership().grant_role(Role.OPERATOR, consortium.quality.address)
    lots = [
        owner.create_batch(f"https://id.gs1.org/01/09506000134352/10/MANY-{i}") for i in range(40)
    ]
    for lot in lots:
        owner.authorize_writer(lot, consortium.quality.address)
    events = [
        FiledEvent(EventKind.INSPECTION, payload(0), tuple(lots)),
        FiledEvent(EventKind.INSPECTION, payload(1), tuple(reversed(lots))),
        FiledEvent(EventKind.OTHER, payload(2), ()),
    ]
    costs = [filed_event_cost(e.payload, len(e.batch_ids)) for e in events]

    anchored = lab.record_filed_events(events)

    assert len(anchored.receipts) == 1
    assert anchored.gas_used < filed_transaction_gas_bound(costs)
    assert [owner.batch(lot).event_count for lot in lots] == [2] * 40
    assert lab.organization_event_count(consortium.quality.address) == 1


def test_an_event_too_large_for_one_transaction_is_refused_before_anything_is_sent(consortium):
    writer = consortium.writer()
    writer.max_tx_bytes = 2_048
    lot = writer.create_batch(LOT_A)
    before = nonce(consortium, consortium.operator)
    with pytest.raises(ValueError, match="event 1 .* does not fit in one transaction"):
        writer.record_filed_events(
            [
                FiledEvent(EventKind.OTHER, payload(0), (lot,)),
                FiledEvent(EventKind.OTHER, payload(1) * 40, (lot,)),
            ]
        )
    assert nonce(consortium, consortium.operator) == before
    assert writer.batch(lot).event_count == 0
