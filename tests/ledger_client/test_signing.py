"""The hot-path transaction signer produces eth-account's bytes, and refuses other shapes."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_client.signing import CallSigner

pytestmark = pytest.mark.unit

KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
ACCOUNT = Account.from_key(KEY)
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"

# A plain call; tests change the fields they are about.
CALL = {
    "chainId": 31337,
    "nonce": 7,
    "maxPriorityFeePerGas": 1,
    "maxFeePerGas": 2_000_000_000,
    "gas": 100_000,
    "to": CONTRACT,
    "data": b"\x01\x02",
}

calls = st.fixed_dictionaries(
    {
        "chainId": st.integers(1, 2**64),
        "nonce": st.integers(0, 2**64 - 1),
        "maxPriorityFeePerGas": st.integers(0, 10**12),
        "maxFeePerGas": st.integers(10**12, 10**15),
        "gas": st.integers(21_000, 30_000_000),
        "to": st.just(CONTRACT),
        "data": st.binary(max_size=3000),
    }
)


@settings(max_examples=200, deadline=None)
@given(calls)
def test_a_call_is_signed_exactly_as_eth_account_signs_it(tx: dict) -> None:
    assert CallSigner(KEY).sign(tx) == bytes(ACCOUNT.sign_transaction(tx).raw_transaction)


def test_the_signed_call_recovers_to_the_signer() -> None:
    assert Account.recover_transaction(CallSigner(KEY).sign(CALL)) == ACCOUNT.address


@pytest.mark.parametrize(
    "change",
    [
        {"value": 1},  # a transfer of value
        {"gasPrice": 1},  # a legacy-priced transaction
        {"data": "0x0102"},  # data as hex text
    ],
)
def test_other_shapes_are_left_to_eth_account(change: dict) -> None:
    tx = {
        "chainId": 1,
        "nonce": 0,
        "maxPriorityFeePerGas": 1,
        "maxFeePerGas": 2,
        "gas": 21_000,
        "to": CONTRACT,
        "data": b"",
        **change,
    }
    assert not CallSigner.handles(tx)
    with pytest.raises(ValueError, match="not an EIP-1559 call"):
        CallSigner(KEY).sign(tx)


def test_signatures_with_leading_zero_bytes_are_encoded_as_eth_account_does() -> None:
    """r or s below 2^248 (1 in 128 signatures) is an RLP integer without its zero bytes."""
    base = {**CALL, "data": b"\xaa"}
    found = {"r": None, "s": None}
    for nonce in range(5000):
        tx = {**base, "nonce": nonce}
        signed = ACCOUNT.sign_transaction(tx)
        for name in ("r", "s"):
            if found[name] is None and getattr(signed, name) < 2**248:
                found[name] = tx
        if all(found.values()):
            break
    assert all(found.values())
    for tx in found.values():
        assert CallSigner(KEY).sign(tx) == bytes(ACCOUNT.sign_transaction(tx).raw_transaction)


def test_a_negative_or_non_integer_field_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative integers"):
        CallSigner(KEY).sign({**CALL, "nonce": -1})
    with pytest.raises(ValueError, match="non-negative integers"):
        CallSigner(KEY).sign({**CALL, "gas": 2.5})
