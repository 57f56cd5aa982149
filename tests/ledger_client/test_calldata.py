import pytest
from eth_abi import encode
from hypothesis import given
from hypothesis import strategies as st

from ledger_client.calldata import (
    RECORD_EVENTS_SELECTOR,
    RECORD_FILED_EVENTS_SELECTOR,
    encode_record_events,
    encode_record_filed_events,
)

pytestmark = pytest.mark.unit


@given(
    batch_id=st.binary(min_size=32, max_size=32),
    events=st.lists(st.tuples(st.integers(0, 2), st.binary(min_size=1, max_size=200)), max_size=20),
)
def test_matches_eth_abi(batch_id, events):
    kinds = [k for k, _ in events]
    payloads = [p for _, p in events]
    expected = RECORD_EVENTS_SELECTOR + encode(
        ["bytes32", "uint8[]", "bytes[]"], [batch_id, kinds, payloads]
    )
    assert encode_record_events(batch_id, kinds, payloads) == expected


def test_rejects_a_short_batch_id():
    with pytest.raises(ValueError, match="32 bytes"):
        encode_record_events(b"\x01" * 31, [0], [b"x"])


@given(
    events=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.binary(min_size=0, max_size=200),
            st.lists(st.binary(min_size=32, max_size=32), max_size=4),
        ),
        max_size=12,
    )
)
def test_filed_events_match_eth_abi(events):
    kinds = [k for k, _, _ in events]
    payloads = [p for _, p, _ in events]
    filings = [f for _, _, f in events]
    expected = RECORD_FILED_EVENTS_SELECTOR + encode(
        ["uint8[]", "bytes[]", "bytes32[][]"], [kinds, payloads, filings]
    )
    assert encode_record_filed_events(kinds, payloads, filings) == expected


def test_filed_events_reject_a_short_batch_id():
    with pytest.raises(ValueError, match="32 bytes"):
        encode_record_filed_events([0], [b"x"], [[b"\x01" * 32, b"\x02" * 31]])
