"""The indexer reads anchored payloads, which any member may write, without recursing on them."""

from __future__ import annotations

import pytest

from ledger_client.indexer.payloads import PayloadColumns, payload_columns

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "payload",
    [
        '{"type":' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"type":"ObjectEvent","x":' + "[" * 5_000 + "}",
        '{"type":"ObjectEvent","bizStep":"shipping","type":"AggregationEvent"}',
    ],
    ids=["nested-100-000-deep", "never-closed", "repeated-key"],
)
def test_a_payload_no_honest_member_anchors_gives_no_columns(payload: str):
    assert payload_columns(payload) == PayloadColumns()
