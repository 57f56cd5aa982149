"""Signature recovery and verification: the contract's acceptance rules, eth_account's answers."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle_bridge.device import DeviceKey
from oracle_bridge.errors import InvalidSignature
from oracle_bridge.readings import ReadingDomain, SignedReading, digest
from oracle_bridge.verification import (
    SECP256K1_HALF_N,
    SECP256K1_N,
    recover_naive,
    recover_signer,
    verify,
)
from tests.oracle_bridge.bridge_factories import DEVICE, DOMAIN, domains, reading

pytestmark = pytest.mark.unit

private_keys = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(
    lambda k: k.to_bytes(32, "big")
)


def signed_reading(**fields: object) -> SignedReading:
    return DEVICE.sign(reading(5, 1_700_000_000, **fields), domain=DOMAIN)


@settings(max_examples=50, deadline=None)
@given(private_keys, domains, st.integers(min_value=1, max_value=2**64 - 1))
def test_verify_returns_the_device_and_agrees_with_eth_account(
    private_key: bytes, domain: ReadingDomain, seq: int
) -> None:
    key = DeviceKey.from_private_key(private_key)
    signed = key.sign(reading(seq, 1_700_000_000, device=key.address), domain=domain)
    assert verify(signed, domain=domain) == key.address
    assert recover_naive(signed, domain=domain) == key.address
    assert recover_signer(digest(signed.reading, domain=domain), signed.signature) == key.address


def test_signature_by_eth_account_verifies() -> None:
    r = reading(9, 1_700_000_100, -2500)
    eth_signature = Account.unsafe_sign_hash(digest(r, domain=DOMAIN), DEVICE.private_key)
    signed = SignedReading(reading=r, signature=bytes(eth_signature.signature))
    assert verify(signed, domain=DOMAIN) == DEVICE.address


def with_s(signature: bytes, s: int, v: int) -> bytes:
    return signature[:32] + s.to_bytes(32, "big") + bytes((v,))


def test_high_s_twin_of_a_valid_signature_is_rejected() -> None:
    signed = signed_reading()
    s = int.from_bytes(signed.signature[32:64], "big")
    twin = with_s(signed.signature, SECP256K1_N - s, 55 - signed.signature[64])
    # the twin is a mathematically valid signature by the same key...
    assert recover_naive(SignedReading(signed.reading, twin), domain=DOMAIN) == DEVICE.address
    # ...which the contract (OpenZeppelin ECDSA) rejects, so the bridge does too
    with pytest.raises(InvalidSignature, match="upper half"):
        verify(SignedReading(signed.reading, twin), domain=DOMAIN)


def test_s_of_exactly_half_n_is_accepted_by_the_range_check() -> None:
    signed = signed_reading()
    edge = with_s(signed.signature, SECP256K1_HALF_N, 27)
    try:
        recover_signer(digest(signed.reading, domain=DOMAIN), edge)
    except InvalidSignature as error:
        assert "upper half" not in error.reason


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda sig: sig[:64], "64-byte"),
        (lambda sig: sig + b"\x00", "65 bytes"),
        (lambda sig: b"", "65 bytes"),
        (lambda sig: sig[:64] + b"\x00", "v must be 27 or 28"),
        (lambda sig: sig[:64] + b"\x01", "v must be 27 or 28"),
        (lambda sig: sig[:64] + b"\x1d", "v must be 27 or 28"),
        (lambda sig: bytes(32) + sig[32:], "r is zero"),
        (lambda sig: SECP256K1_N.to_bytes(32, "big") + sig[32:], "r is zero or not below"),
        (lambda sig: sig[:32] + bytes(32) + sig[64:], "s is zero"),
        (lambda sig: sig[:32] + b"\xff" * 32 + sig[64:], "upper half"),
    ],
)
def test_malformed_signatures_are_rejected_with_a_reason(mangle, reason: str) -> None:  # type: ignore[no-untyped-def]
    signed = signed_reading()
    bad = SignedReading(signed.reading, mangle(signed.signature))
    with pytest.raises(InvalidSignature) as caught:
        verify(bad, domain=DOMAIN)
    assert reason in caught.value.reason


def test_unrecoverable_signature_is_rejected() -> None:
    # r = 5 is not the x coordinate of any curve point (5^3 + 7 is a non-residue mod p)
    signature = (5).to_bytes(32, "big") + (1).to_bytes(32, "big") + b"\x1b"
    with pytest.raises(InvalidSignature, match="no public key recovers"):
        recover_signer(bytes(32), signature)


@pytest.mark.parametrize(
    "domain",
    [
        ReadingDomain(chain_id=1, verifying_contract=DOMAIN.verifying_contract),
        ReadingDomain(chain_id=DOMAIN.chain_id, verifying_contract="0x" + "22" * 20),
    ],
    ids=["other chain", "other contract"],
)
def test_signature_for_another_domain_is_rejected(domain: ReadingDomain) -> None:
    signed = DEVICE.sign(reading(5, 1_700_000_000), domain=domain)
    with pytest.raises(InvalidSignature, match="not by the reading's device"):
        verify(signed, domain=DOMAIN)


@pytest.mark.parametrize(
    "field",
    [{"seq": 6}, {"timestamp": 1_700_000_001}, {"temp_milli_c": 9000}, {"batch_id": b"\x01" * 32}],
)
def test_tampered_reading_is_rejected(field: dict[str, object]) -> None:
    signed = signed_reading()
    values = {"seq": 5, "timestamp": 1_700_000_000} | field
    tampered = SignedReading(reading(**values), signed.signature)  # type: ignore[arg-type]
    with pytest.raises(InvalidSignature):
        verify(tampered, domain=DOMAIN)


def test_signature_by_another_device_is_rejected() -> None:
    other = DeviceKey.generate()
    r = reading(5, 1_700_000_000)
    forged_signature = Account.unsafe_sign_hash(digest(r, domain=DOMAIN), other.private_key)
    forged = SignedReading(r, bytes(forged_signature.signature))
    with pytest.raises(InvalidSignature, match=other.address):
        verify(forged, domain=DOMAIN)
