"""Ethereum addresses: raw 20 bytes <-> EIP-55 checksummed text."""

from __future__ import annotations

import re
from functools import lru_cache

from ledger_client.hashing import keccak256

_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


# Cached: the bridge checksums the same few device addresses for every reading it loads.
@lru_cache(maxsize=65_536)
def checksum_address(raw: bytes) -> str:
    """The EIP-55 mixed-case form of a 20-byte address."""
    hex_address = raw.hex()
    hash_hex = keccak256(hex_address.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if c > "9" and h >= "8" else c
        for c, h in zip(hex_address, hash_hex, strict=False)
    )


def normalize_address(text: object) -> str:
    """The EIP-55 form of a `0x`-prefixed hex address given in any valid spelling.

    All-lowercase and all-uppercase hex are accepted; mixed case must be a correct EIP-55
    checksum, since a wrong one means the address was mistyped.

    Raises:
        ValueError: not a string of `0x` and 40 hex digits, or a wrong checksum.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not an address (0x followed by 40 hex digits)")
    return _normalize(text)


# Cached: every reading of a device names it in the same spelling.
@lru_cache(maxsize=65_536)
def _normalize(text: str) -> str:
    if not _HEX_ADDRESS.fullmatch(text):
        raise ValueError(f"{text!r} is not an address (0x followed by 40 hex digits)")
    checksummed = checksum_address(bytes.fromhex(text[2:]))
    digits = text[2:]
    if digits != digits.lower() and digits != digits.upper() and checksummed != text:
        raise ValueError(f"{text} has a wrong EIP-55 checksum; expected {checksummed}")
    return checksummed
