"""Off-chain verification of device signatures, with the same acceptance rules as the contract.

Accepted: 65-byte r||s||v with v in {27, 28}, 0 < r < n, 0 < s <= n/2 (OpenZeppelin ECDSA).
Rejected: 64-byte EIP-2098 signatures, other v values and high-s (malleable) signatures.
"""

from __future__ import annotations

from functools import lru_cache

from coincurve import PublicKey
from eth_account import Account
from eth_account.messages import encode_typed_data

from ledger_client.hashing import keccak256
from oracle_bridge.addresses import checksum_address
from oracle_bridge.errors import InvalidSignature
from oracle_bridge.readings import ReadingDomain, SignedReading, digest, typed_data

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2


def _recover_raw(message_digest: bytes, signature: bytes) -> bytes:
    if len(signature) != 65:
        if len(signature) == 64:
            raise InvalidSignature("64-byte (EIP-2098) signatures are not accepted; send r||s||v")
        raise InvalidSignature(f"a signature is 65 bytes r||s||v, got {len(signature)} bytes")
    v = signature[64]
    if v not in (27, 28):
        raise InvalidSignature(f"v must be 27 or 28, got {v}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    if not 0 < r < SECP256K1_N:
        raise InvalidSignature("r is zero or not below the curve order")
    if s == 0:
        raise InvalidSignature("s is zero")
    if s > SECP256K1_HALF_N:
        raise InvalidSignature("s is in the upper half of the curve order (malleable signature)")
    try:
        public_key = PublicKey.from_signature_and_message(
            signature[:64] + bytes((v - 27,)), message_digest, hasher=None
        )
    except ValueError:
        raise InvalidSignature("no public key recovers from this signature") from None
    return _address_of(public_key.format(compressed=False))


# Cached: the bridge recovers the same few device keys over and over.
@lru_cache(maxsize=65_536)
def _address_of(uncompressed_public_key: bytes) -> bytes:
    return keccak256(uncompressed_public_key[1:])[12:]


def recover_signer(message_digest: bytes, signature: bytes) -> str:
    """The checksummed address whose key signed the 32-byte `message_digest`.

    Raises:
        InvalidSignature: a malformed or malleable signature (the reason says which).
    """
    return checksum_address(_recover_raw(message_digest, signature))


def verify(signed: SignedReading, *, domain: ReadingDomain) -> str:
    """The reading's device address, once its signature is proven to be that device's.

    Raises:
        InvalidSignature: malformed, malleable, or signed by another key (for example a
            signature made for another chain id or contract address).
    """
    reading = signed.reading
    signer = _recover_raw(digest(reading, domain=domain), signed.signature)
    if signer != bytes.fromhex(reading.device[2:]):
        raise InvalidSignature(
            f"signed by {checksum_address(signer)}, not by the reading's device {reading.device}"
            " (or signed for another chain or contract)"
        )
    return reading.device


def recover_naive(signed: SignedReading, *, domain: ReadingDomain) -> str:
    """The signer as `eth_account` recovers it: the slow baseline the benchmark compares to."""
    message = encode_typed_data(full_message=typed_data(signed.reading, domain=domain))
    return Account.recover_message(message, signature=signed.signature)
