"""Pure decoding of raw JSON-RPC logs and recordEvents calldata (no chain, no database)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_client.calldata import encode_record_events, encode_record_filed_events
from ledger_client.indexer.decoding import (
    BatchCreated,
    BatchStatusChanged,
    CustodyOffered,
    CustodyTransferred,
    EventRecorded,
    LogDecoder,
    OrganizationRegistered,
    OrganizationStatusChanged,
    RoleChanged,
    organization_key,
)
from ledger_client.indexer.payloads import (
    decode_record_events,
    decode_record_filed_events,
    payload_columns,
    payloads_from_transaction,
)
from ledger_client.ledger import BatchKind, BatchStatus, EventKind
from ledger_client.roles import Role

pytestmark = pytest.mark.unit

LEDGER = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
MEMBERSHIP = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
OPERATOR = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
BATCH = "0x" + keccak(text="https://id.gs1.org/01/09506000134352/10/LOT-1").hex()
PARENT = "0x" + keccak(text="https://id.gs1.org/01/09506000134352/10/LOT-0").hex()
TX_HASH = "0x" + "ab" * 32
BLOCK_HASH = "0x" + "cd" * 32


@pytest.fixture(scope="module")
def decoder() -> LogDecoder:
    return LogDecoder.for_contracts()


def topic0(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


def word(value: str | int) -> str:
    """A 32-byte topic: an address or bytes32 hex string, or an integer."""
    if isinstance(value, int):
        return "0x" + value.to_bytes(32, "big").hex()
    return "0x" + value[2:].lower().rjust(64, "0")


def raw_log(
    signature: str, topics: list[str], data: bytes, *, address: str = LEDGER, log_index: int = 3
) -> dict:
    return {
        "address": address,
        "topics": [topic0(signature), *topics],
        "data": "0x" + data.hex(),
        "blockNumber": "0x1b",
        "blockHash": BLOCK_HASH,
        "transactionHash": TX_HASH,
        "transactionIndex": "0x0",
        "logIndex": hex(log_index),
        "removed": False,
    }


def event_recorded_log(
    *, payload: bytes, event_index: int = 5, position: int = 1, log_index: int = 3
) -> dict:
    return raw_log(
        "EventRecorded(bytes32,bytes32,address,uint64,uint8,uint32)",
        [BATCH, "0x" + keccak(payload).hex(), word(OPERATOR)],
        encode(["uint64", "uint8", "uint32"], [event_index, EventKind.INSPECTION, position]),
        log_index=log_index,
    )


def test_selectors_come_from_the_abi(decoder):
    expected = {
        topic0("BatchCreated(bytes32,bytes32,address,uint8,bytes32[],string)"),
        topic0("EventRecorded(bytes32,bytes32,address,uint64,uint8,uint32)"),
        topic0("BatchStatusChanged(bytes32,uint8,uint8,address,string)"),
        topic0("CustodyTransferred(bytes32,address,address)"),
        topic0("CustodyOffered(bytes32,address,address)"),
        topic0("ExcursionAcknowledged(bytes32,address,string)"),
        topic0("ExcursionQuarantine(bytes32,uint32,address,uint64,uint8)"),
        topic0("OrganizationRegistered(address,string,string)"),
        topic0("OrganizationStatusChanged(address,bool)"),
        topic0("RoleGranted(bytes32,address,address)"),
        topic0("RoleRevoked(bytes32,address,address)"),
        topic0("OrganizationEventRecorded(address,bytes32,uint64,uint8,uint32)"),
        topic0("SubjectBound(bytes32,bytes32,string,address)"),
    }
    assert set(decoder.topics) == expected
    assert (
        decoder.record_events_selector
        == "0x" + keccak(text="recordEvents(bytes32,uint8[],bytes[])")[:4].hex()
    )
    assert (
        decoder.record_filed_events_selector
        == "0x" + keccak(text="recordFiledEvents(uint8[],bytes[],bytes32[][])")[:4].hex()
    )


def test_event_recorded(decoder):
    payload = b'{"type":"ObjectEvent"}'
    record = decoder.decode(event_recorded_log(payload=payload))
    assert isinstance(record, EventRecorded)
    assert record.batch_id == BATCH
    assert record.payload_hash == "0x" + keccak(payload).hex()
    assert record.recorder == to_checksum_address(OPERATOR)
    assert (record.event_index, record.kind, record.position) == (5, EventKind.INSPECTION, 1)
    assert record.ref.block_number == 27
    assert record.ref.block_hash == BLOCK_HASH
    assert record.ref.tx_hash == TX_HASH
    assert record.ref.log_index == 3
    assert record.ref.address == LEDGER


def test_batch_created_with_parents_and_uri(decoder):
    uri = "https://id.gs1.org/01/09506000134352/10/LOT-1"
    product_class = keccak(text="vaccine")
    data = encode(
        ["uint8", "bytes32[]", "string"], [BatchKind.ITEM, [bytes.fromhex(PARENT[2:])] * 2, uri]
    )
    record = decoder.decode(
        raw_log(
            "BatchCreated(bytes32,bytes32,address,uint8,bytes32[],string)",
            [BATCH, "0x" + product_class.hex(), word(OPERATOR)],
            data,
        )
    )
    assert record == BatchCreated(
        record.ref,
        batch_id=BATCH,
        product_class="0x" + product_class.hex(),
        creator=to_checksum_address(OPERATOR),
        kind=BatchKind.ITEM,
        parents=(PARENT, PARENT),
        uri=uri,
    )


def test_batch_status_changed(decoder):
    data = encode(
        ["uint8", "uint8", "string"],
        [BatchStatus.ACTIVE, BatchStatus.QUARANTINED, "excursion 9.1 °C"],
    )
    record = decoder.decode(
        raw_log(
            "BatchStatusChanged(bytes32,uint8,uint8,address,string)", [BATCH, word(OPERATOR)], data
        )
    )
    assert isinstance(record, BatchStatusChanged)
    assert (record.from_status, record.to_status) == (BatchStatus.ACTIVE, BatchStatus.QUARANTINED)
    assert record.by == to_checksum_address(OPERATOR)
    assert record.reason == "excursion 9.1 °C"


@pytest.mark.parametrize(
    ("name", "record_type"),
    [("CustodyTransferred", CustodyTransferred), ("CustodyOffered", CustodyOffered)],
)
def test_custody_events(decoder, name, record_type):
    carrier = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
    record = decoder.decode(
        raw_log(f"{name}(bytes32,address,address)", [BATCH, word(OPERATOR), word(carrier)], b"")
    )
    assert record == record_type(
        record.ref, BATCH, to_checksum_address(OPERATOR), to_checksum_address(carrier)
    )
    created = decoder.decode(
        raw_log(f"{name}(bytes32,address,address)", [BATCH, word(0), word(OPERATOR)], b"")
    )
    assert created.from_account == "0x" + "00" * 20
    with pytest.raises(ValueError, match="data bytes"):
        decoder.decode(
            raw_log(f"{name}(bytes32,address,address)", [BATCH, word(0), word(OPERATOR)], b"x")
        )


def test_membership_events(decoder):
    did = f"did:pkh:eip155:31337:{to_checksum_address(OPERATOR)}"
    registered = decoder.decode(
        raw_log(
            "OrganizationRegistered(address,string,string)",
            [word(OPERATOR)],
            encode(["string", "string"], [did, "Acme Pharma"]),
            address=MEMBERSHIP,
        )
    )
    assert registered == OrganizationRegistered(
        registered.ref, to_checksum_address(OPERATOR), did, "Acme Pharma"
    )
    deactivated = decoder.decode(
        raw_log(
            "OrganizationStatusChanged(address,bool)",
            [word(OPERATOR)],
            encode(["bool"], [False]),
            address=MEMBERSHIP,
        )
    )
    assert deactivated == OrganizationStatusChanged(
        deactivated.ref, to_checksum_address(OPERATOR), False
    )


@pytest.mark.parametrize(("name", "granted"), [("RoleGranted", True), ("RoleRevoked", False)])
def test_role_changes_name_known_roles(decoder, name, granted):
    governor = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    record = decoder.decode(
        raw_log(
            f"{name}(bytes32,address,address)",
            ["0x" + Role.AUDITOR.id.hex(), word(OPERATOR), word(governor)],
            b"",
            address=MEMBERSHIP,
        )
    )
    assert isinstance(record, RoleChanged)
    assert record.granted is granted
    assert record.role == "AUDITOR_ROLE"
    assert record.role_id == "0x" + Role.AUDITOR.id.hex()
    assert (record.account, record.sender) == (
        to_checksum_address(OPERATOR),
        to_checksum_address(governor),
    )
    unknown = decoder.decode(
        raw_log(f"{name}(bytes32,address,address)", [word(7), word(OPERATOR), word(governor)], b"")
    )
    assert unknown.role is None


def test_logs_we_do_not_read_decode_to_none(decoder):
    paused = raw_log("Paused(address)", [], encode(["address"], [OPERATOR]), address=MEMBERSHIP)
    assert decoder.decode(paused) is None
    assert decoder.decode({**event_recorded_log(payload=b"x"), "removed": True}) is None
    assert decoder.decode({**event_recorded_log(payload=b"x"), "topics": []}) is None


def test_malformed_known_logs_raise(decoder):
    good = event_recorded_log(payload=b"x")
    with pytest.raises(ValueError, match="topics"):
        decoder.decode({**good, "topics": good["topics"][:2]})
    with pytest.raises(ValueError, match="data bytes"):
        decoder.decode({**good, "data": good["data"][:-64]})


# -- payloads out of calldata -------------------------------------------------------------


def tx_for(payloads: list[bytes], *, to: str = LEDGER, batch: str = BATCH) -> dict:
    data = encode_record_events(bytes.fromhex(batch[2:]), [0] * len(payloads), payloads)
    return {"hash": TX_HASH, "to": to, "input": "0x" + data.hex(), "blockHash": BLOCK_HASH}


def test_decode_record_events_call(decoder):
    payloads = [b'{"a":1}', "é".encode() * 40, b"x"]
    call = decode_record_events(tx_for(payloads)["input"], selector=decoder.record_events_selector)
    assert call.batch_id == BATCH
    assert call.payloads == tuple(payloads)
    assert (
        decode_record_events("0xdeadbeef" + "00" * 64, selector=decoder.record_events_selector)
        is None
    )


@settings(max_examples=200, deadline=None)
@given(
    batch=st.binary(min_size=32, max_size=32),
    payloads=st.lists(st.binary(max_size=100), max_size=8),
    cut=st.integers(min_value=0, max_value=400),
)
def test_decode_record_events_agrees_with_eth_abi_and_never_raises(batch, payloads, cut):
    selector = "0x" + keccak(text="recordEvents(bytes32,uint8[],bytes[])")[:4].hex()
    encoded = encode(["bytes32", "uint8[]", "bytes[]"], [batch, [1] * len(payloads), payloads])
    call = decode_record_events(selector + encoded.hex(), selector=selector)
    assert (call.batch_id, call.payloads) == ("0x" + batch.hex(), tuple(payloads))
    truncated = selector + encoded[: max(0, len(encoded) - cut - 1)].hex()
    # Cut calldata decodes to None, or to the same payloads when only padding was cut.
    assert decode_record_events(truncated, selector=selector) in (None, call)


def test_decode_record_events_refuses_offsets_outside_the_calldata(decoder):
    selector = decoder.record_events_selector
    huge = (2**255).to_bytes(32, "big")
    encoded = bytearray(
        encode(["bytes32", "uint8[]", "bytes[]"], [b"\x01" * 32, [0], [b"payload"]])
    )
    for at in (64, 160, 192, 224):  # payloads offset, count, element offset, element length
        forged = encoded.copy()
        forged[at : at + 32] = huge
        assert decode_record_events(selector + forged.hex(), selector=selector) is None


def test_payloads_taken_by_position_and_checked_against_the_hash(decoder, caplog):
    payloads = [b'{"n":0}', b'{"n":1}', b'{"n":2}']
    events = [
        decoder.decode(event_recorded_log(payload=p, position=i, log_index=i))
        for i, p in enumerate(payloads)
    ]
    texts = payloads_from_transaction(
        tx_for(payloads), events, ledger_address=LEDGER, selector=decoder.record_events_selector
    )
    assert texts == ['{"n":0}', '{"n":1}', '{"n":2}']
    assert not caplog.records


def test_payload_not_matching_its_hash_is_left_empty_with_a_warning(decoder, caplog):
    events = [
        decoder.decode(event_recorded_log(payload=b'{"n":0}', position=0)),
        decoder.decode(event_recorded_log(payload=b'{"forged":1}', position=1)),
        decoder.decode(event_recorded_log(payload=b'{"n":9}', position=7)),  # out of range
    ]
    with caplog.at_level(logging.WARNING):
        texts = payloads_from_transaction(
            tx_for([b'{"n":0}', b'{"n":1}']),
            events,
            ledger_address=LEDGER,
            selector=decoder.record_events_selector,
        )
    assert texts == ['{"n":0}', None, None]
    assert "2 of 3 payload(s) do not match" in caplog.text


def test_payload_of_an_indirect_call_is_left_empty_with_a_warning(decoder, caplog):
    payload = b'{"n":0}'
    events = [decoder.decode(event_recorded_log(payload=payload, position=0))]
    with caplog.at_level(logging.WARNING):
        via_proxy = payloads_from_transaction(
            tx_for([payload], to=MEMBERSHIP),
            events,
            ledger_address=LEDGER,
            selector=decoder.record_events_selector,
        )
        other_batch = payloads_from_transaction(
            tx_for([payload], batch=PARENT),
            events,
            ledger_address=LEDGER,
            selector=decoder.record_events_selector,
        )
    assert via_proxy == [None]
    assert other_batch == [None]
    assert "did not call recordEvents or recordFiledEvents on the ledger directly" in caplog.text


def test_payload_that_is_not_utf8_is_left_empty(decoder):
    payload = b"\xff\xfe{}"
    events = [decoder.decode(event_recorded_log(payload=payload, position=0))]
    texts = payloads_from_transaction(
        tx_for([payload]), events, ledger_address=LEDGER, selector=decoder.record_events_selector
    )
    assert texts == [None]


# -- query columns from the payload -------------------------------------------------------


def test_payload_columns_of_an_epcis_event():
    payload = (
        '{"bizStep":"shipping","eventTime":"2005-04-03T20:33:31.116-06:00",'
        '"eventTimeZoneOffset":"-06:00","type":"ObjectEvent"}'
    )
    columns = payload_columns(payload)
    assert columns.event_type == "ObjectEvent"
    assert columns.biz_step == "shipping"
    assert columns.event_time == datetime(2005, 4, 4, 2, 33, 31, 116_000, tzinfo=UTC)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "not json",
        "[1,2]",
        '{"type":7,"eventTime":"yesterday","bizStep":null}',
        '{"bizStep":"' + "x" * 300 + '"}',
    ],
)
def test_payload_columns_tolerate_anything(payload):
    columns = payload_columns(payload)
    assert (columns.event_type, columns.event_time, columns.biz_step) == (None, None, None)


def test_zulu_time_and_time_without_offset_are_utc():
    expected = datetime(2026, 11, 21, 10, tzinfo=UTC)
    assert payload_columns('{"eventTime":"2026-11-21T10:00:00Z"}').event_time == expected
    assert payload_columns('{"eventTime":"2026-11-21T10:00:00"}').event_time == expected


def test_many_logs_decode_each_to_its_own_event(decoder):
    # Its speed against web3's own decoding is bench/log_decoding.py's.
    logs = [
        event_recorded_log(payload=b"%d" % i, event_index=i, log_index=i % 500)
        for i in range(2_000)
    ]
    records = [decoder.decode(raw) for raw in logs]
    assert [r.event_index for r in records] == list(range(2_000))
    assert [r.ref.log_index for r in records] == [i % 500 for i in range(2_000)]
    hashes = {"0x" + keccak(b"%d" % i).hex() for i in range(2_000)}
    assert {r.payload_hash for r in records} == hashes


# -- events filed under several batches or the organization (recordFiledEvents) -----------


def organization_event_log(*, payload: bytes, position: int, log_index: int = 4) -> dict:
    return raw_log(
        "OrganizationEventRecorded(address,bytes32,uint64,uint8,uint32)",
        [word(OPERATOR), "0x" + keccak(payload).hex()],
        encode(["uint64", "uint8", "uint32"], [7, EventKind.OTHER, position]),
        log_index=log_index,
    )


def filed_tx(payloads: list[bytes], filings: list[list[str]]) -> dict:
    data = encode_record_filed_events(
        [0] * len(payloads), payloads, [[bytes.fromhex(b[2:]) for b in f] for f in filings]
    )
    return {"hash": TX_HASH, "to": LEDGER, "input": "0x" + data.hex(), "blockHash": BLOCK_HASH}


def test_organization_event_decodes_under_the_organization_key(decoder):
    record = decoder.decode(organization_event_log(payload=b"{}", position=2))
    assert isinstance(record, EventRecorded)
    assert record.batch_id == organization_key(OPERATOR) == "0x" + "00" * 12 + OPERATOR[2:]
    assert record.recorder == to_checksum_address(OPERATOR)
    assert (record.event_index, record.kind, record.position) == (7, EventKind.OTHER, 2)
    assert record.payload_hash == "0x" + keccak(b"{}").hex()


def test_filed_payloads_are_taken_only_for_the_batches_and_organization_they_were_filed_under(
    decoder,
):
    payloads = [b'{"n":0}', b'{"n":1}']
    tx = filed_tx(payloads, [[PARENT, BATCH], []])
    under_batch = decoder.decode(event_recorded_log(payload=payloads[0], position=0))
    under_organization = decoder.decode(organization_event_log(payload=payloads[1], position=1))
    # The same logs against a call that filed them elsewhere.
    misfiled = filed_tx(payloads, [[PARENT], [BATCH]])
    selectors = {
        "selector": decoder.record_events_selector,
        "filed_selector": decoder.record_filed_events_selector,
    }
    events = [under_batch, under_organization]
    assert payloads_from_transaction(tx, events, ledger_address=LEDGER, **selectors) == [
        '{"n":0}',
        '{"n":1}',
    ]
    assert payloads_from_transaction(misfiled, events, ledger_address=LEDGER, **selectors) == [
        None,
        None,
    ]


@settings(max_examples=200, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.binary(max_size=100), st.lists(st.binary(min_size=32, max_size=32), max_size=3)
        ),
        max_size=6,
    ),
    cut=st.integers(min_value=0, max_value=400),
)
def test_decode_record_filed_events_agrees_with_eth_abi_and_never_raises(events, cut):
    selector = "0x" + keccak(text="recordFiledEvents(uint8[],bytes[],bytes32[][])")[:4].hex()
    payloads = [p for p, _ in events]
    filings = [f for _, f in events]
    encoded = encode(["uint8[]", "bytes[]", "bytes32[][]"], [[0] * len(events), payloads, filings])
    call = decode_record_filed_events(selector + encoded.hex(), selector=selector)
    assert call.batch_id is None
    assert call.payloads == tuple(payloads)
    assert call.filings == tuple(frozenset("0x" + b.hex() for b in f) for f in filings)
    truncated = selector + encoded[: max(0, len(encoded) - cut - 1)].hex()
    assert decode_record_filed_events(truncated, selector=selector) in (None, call)
    assert decode_record_events(selector + encoded.hex(), selector="0xdeadbeef") is None
