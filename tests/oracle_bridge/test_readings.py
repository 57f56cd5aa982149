"""Readings: validation, EIP-712 hashes equal to eth_account's, strict JSON form."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle_bridge.errors import BridgeError, InvalidDomain, MalformedReading
from oracle_bridge.readings import (
    Reading,
    ReadingDomain,
    SignedReading,
    digest,
    from_json,
    from_json_object,
    struct_hash,
    to_json,
    to_json_object,
    typed_data,
)
from tests.oracle_bridge.bridge_factories import (
    BATCH_ID,
    DEVICE,
    DOMAIN,
    domains,
    reading,
    readings,
)

pytestmark = pytest.mark.unit


def spec_typed_data(r: Reading, domain: ReadingDomain) -> dict[str, Any]:
    """The typed data written out from RULES.md, independently of `typed_data`."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Reading": [
                {"name": "device", "type": "address"},
                {"name": "batchId", "type": "bytes32"},
                {"name": "seq", "type": "uint64"},
                {"name": "timestamp", "type": "uint64"},
                {"name": "tempMilliC", "type": "int32"},
                {"name": "humidityPermille", "type": "uint16"},
            ],
        },
        "primaryType": "Reading",
        "domain": {
            "name": "ColdChainCompliance",
            "version": "1",
            "chainId": domain.chain_id,
            "verifyingContract": domain.verifying_contract,
        },
        "message": {
            "device": r.device,
            "batchId": r.batch_id,
            "seq": r.seq,
            "timestamp": r.timestamp,
            "tempMilliC": r.temp_milli_c,
            "humidityPermille": r.humidity_permille,
        },
    }


@settings(max_examples=300)
@given(readings, domains)
def test_hashes_equal_eth_account_encode_typed_data(r: Reading, domain: ReadingDomain) -> None:
    message = encode_typed_data(full_message=spec_typed_data(r, domain))
    assert domain.separator == message.header
    assert struct_hash(r) == message.body
    assert digest(r, domain=domain) == keccak(
        b"\x19" + message.version + message.header + message.body
    )


@given(readings, domains)
def test_typed_data_is_the_spec_document(r: Reading, domain: ReadingDomain) -> None:
    assert typed_data(r, domain=domain) == spec_typed_data(r, domain)


def test_digest_depends_on_chain_and_contract() -> None:
    r = reading(1, 1_700_000_000)
    other_chain = ReadingDomain(chain_id=1, verifying_contract=DOMAIN.verifying_contract)
    other_contract = ReadingDomain(chain_id=DOMAIN.chain_id, verifying_contract="0x" + "11" * 20)
    digests = {digest(r, domain=d) for d in (DOMAIN, other_chain, other_contract)}
    assert len(digests) == 3


def test_device_is_stored_checksummed() -> None:
    r = reading(1, 1, device=DEVICE.address.lower())
    assert r.device == DEVICE.address


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"device": "0x1234"}, "device"),
        ({"device": DEVICE.address.swapcase().replace("0X", "0x")}, "device"),
        ({"batch_id": b"\x01" * 31}, "batchId"),
        ({"batch_id": "ab" * 32}, "batchId"),
        ({"seq": -1}, "seq"),
        ({"seq": 2**64}, "seq"),
        ({"seq": True}, "seq"),
        ({"timestamp": 2**64}, "timestamp"),
        ({"timestamp": 1.0}, "timestamp"),
        ({"temp_milli_c": 2**31}, "tempMilliC"),
        ({"temp_milli_c": -(2**31) - 1}, "tempMilliC"),
        ({"humidity_permille": 2**16}, "humidityPermille"),
        ({"humidity_permille": -1}, "humidityPermille"),
    ],
)
def test_reading_rejects_out_of_range_fields(fields: dict[str, object], field: str) -> None:
    values: dict[str, Any] = {"seq": 1, "timestamp": 1} | fields
    with pytest.raises(MalformedReading) as caught:
        reading(**values)
    assert caught.value.field == field
    assert isinstance(caught.value, BridgeError)


def test_reading_accepts_the_extremes_of_each_type() -> None:
    reading(2**64 - 1, 2**64 - 1, -(2**31), humidity_permille=2**16 - 1)
    reading(0, 0, 2**31 - 1, humidity_permille=0)


@pytest.mark.parametrize(
    ("chain_id", "contract"),
    [(0, "0x" + "11" * 20), (2**256, "0x" + "11" * 20), (1, "0x11"), ("1", "0x" + "11" * 20)],
)
def test_domain_rejects_bad_values(chain_id: object, contract: str) -> None:
    with pytest.raises(InvalidDomain):
        ReadingDomain(chain_id=chain_id, verifying_contract=contract)  # type: ignore[arg-type]


signatures = st.binary(min_size=0, max_size=70)


@given(readings, signatures)
def test_json_round_trips(r: Reading, signature: bytes) -> None:
    signed = SignedReading(reading=r, signature=signature)
    assert from_json(to_json(signed)) == signed
    assert from_json(to_json(signed).encode()) == signed


def valid_object() -> dict[str, Any]:
    signed = DEVICE.sign(reading(7, 1_700_000_000, -1500), domain=DOMAIN)
    return to_json_object(signed)


def test_json_object_uses_the_struct_field_names() -> None:
    obj = valid_object()
    assert obj == {
        "device": DEVICE.address,
        "batchId": "0x" + BATCH_ID.hex(),
        "seq": 7,
        "timestamp": 1_700_000_000,
        "tempMilliC": -1500,
        "humidityPermille": 500,
        "signature": obj["signature"],
    }
    assert len(bytes.fromhex(obj["signature"][2:])) == 65


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"device": None}, "device"),
        ({"device": "0xabc"}, "device"),
        ({"batchId": "ab" * 32}, "batchId"),
        ({"batchId": "0x" + "ab" * 31}, "batchId"),
        ({"batchId": "0x" + "zz" * 32}, "batchId"),
        ({"batchId": "0x" + "ab" * 31 + " ab"}, "batchId"),
        ({"seq": "7"}, "seq"),
        ({"seq": 7.0}, "seq"),
        ({"seq": True}, "seq"),
        ({"seq": -1}, "seq"),
        ({"seq": 2**64}, "seq"),
        ({"timestamp": None}, "timestamp"),
        ({"tempMilliC": 2**31}, "tempMilliC"),
        ({"tempMilliC": 1.5}, "tempMilliC"),
        ({"humidityPermille": 65536}, "humidityPermille"),
        ({"signature": "0x123"}, "signature"),
        ({"signature": 5}, "signature"),
        ({"extra": 1}, "extra"),
    ],
)
def test_from_json_names_the_malformed_field(change: dict[str, Any], field: str) -> None:
    obj = valid_object() | change
    with pytest.raises(MalformedReading) as caught:
        from_json(json.dumps(obj))
    assert caught.value.field == field


@pytest.mark.parametrize(
    "key", ["device", "batchId", "seq", "timestamp", "tempMilliC", "humidityPermille", "signature"]
)
def test_from_json_names_a_missing_field(key: str) -> None:
    obj = valid_object()
    del obj[key]
    with pytest.raises(MalformedReading) as caught:
        from_json_object(obj)
    assert caught.value.field == key
    assert "missing" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[1, 2]",
        "not json",
        b"\xff\xfe",
        '{"seq": NaN}',
    ],
)
def test_from_json_rejects_non_objects(text: str | bytes) -> None:
    with pytest.raises(MalformedReading):
        from_json(text)


def test_from_json_rejects_duplicate_keys() -> None:
    text = to_json(DEVICE.sign(reading(7, 1), domain=DOMAIN))
    duplicated = text[:-1] + ',"seq":8}'
    with pytest.raises(MalformedReading) as caught:
        from_json(duplicated)
    assert caught.value.field == "seq"
