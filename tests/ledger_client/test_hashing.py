"""keccak256 and EIP-55 addresses against eth_utils."""

from __future__ import annotations

import threading

import pytest
from eth_utils import keccak, to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from ledger_client.hashing import keccak256
from oracle_bridge.addresses import checksum_address, normalize_address

pytestmark = pytest.mark.unit


@given(st.binary(max_size=600))
def test_keccak256_equals_eth_utils(data: bytes) -> None:
    assert keccak256(data) == keccak(data)


def test_keccak256_of_empty_input_is_the_known_constant() -> None:
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )


def test_keccak256_is_correct_from_many_threads_at_once() -> None:
    inputs = [bytes([i]) * (i + 1) for i in range(64)]
    expected = [keccak(data) for data in inputs]
    failures: list[int] = []

    def hash_all() -> None:
        for _ in range(200):
            for i, data in enumerate(inputs):
                if keccak256(data) != expected[i]:
                    failures.append(i)

    threads = [threading.Thread(target=hash_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


@given(st.binary(min_size=20, max_size=20))
def test_checksum_address_equals_eth_utils(raw: bytes) -> None:
    assert checksum_address(raw) == to_checksum_address(raw)


@given(st.binary(min_size=20, max_size=20))
def test_normalize_address_accepts_every_valid_spelling(raw: bytes) -> None:
    text = checksum_address(raw)
    for spelling in (text, text.lower(), "0x" + text[2:].upper()):
        assert normalize_address(spelling) == text


@pytest.mark.parametrize(
    "text",
    [
        "0x5FbDB2315678afecb367f032d93F642f64180aA3",  # one letter's case flipped
        "5FbDB2315678afecb367f032d93F642f64180aa3",
        "0x5FbDB2315678afecb367f032d93F642f64180a",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3 ",
        "0xZZbDB2315678afecb367f032d93F642f64180aa3",
        b"0x5fbdb2315678afecb367f032d93f642f64180aa3",
        None,
    ],
)
def test_normalize_address_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        normalize_address(text)
