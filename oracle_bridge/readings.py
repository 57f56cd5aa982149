"""Device readings, their EIP-712 hashes and their JSON form (DESIGN §5, RULES.md "EIP-712").

`digest(reading, domain=...)` is what a device signs and what `ColdChainCompliance`
recomputes on chain. It is computed from a precomputed type hash and domain separator with
the fields packed by hand, because `eth_account.messages.encode_typed_data` is ~35x slower.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ledger_client import json_input
from ledger_client.hashing import keccak256
from oracle_bridge.addresses import normalize_address
from oracle_bridge.errors import InvalidDomain, MalformedReading

DOMAIN_NAME = "ColdChainCompliance"
DOMAIN_VERSION = "1"
READING_TYPE = (
    "Reading(address device,bytes32 batchId,uint64 seq,uint64 timestamp,"
    "int32 tempMilliC,uint16 humidityPermille)"
)
DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
READING_TYPE_HASH = keccak256(READING_TYPE.encode())
DOMAIN_TYPE_HASH = keccak256(DOMAIN_TYPE.encode())

UINT16_MAX = 2**16 - 1
UINT64_MAX = 2**64 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
UINT256_MAX = 2**256 - 1

_ADDRESS_PAD = bytes(12)

# JSON key -> (Reading attribute, lowest, highest) for the integer fields.
_INTEGER_FIELDS: dict[str, tuple[str, int, int]] = {
    "seq": ("seq", 0, UINT64_MAX),
    "timestamp": ("timestamp", 0, UINT64_MAX),
    "tempMilliC": ("temp_milli_c", INT32_MIN, INT32_MAX),
    "humidityPermille": ("humidity_permille", 0, UINT16_MAX),
}
_JSON_KEYS = frozenset({"device", "batchId", "signature", *_INTEGER_FIELDS})


def _check_integer(name: str, value: object, low: int, high: int) -> None:
    if type(value) is not int:
        raise MalformedReading(name, f"must be an integer, got {value!r}")
    if not low <= value <= high:
        raise MalformedReading(name, f"{value} is outside [{low}, {high}]")


@dataclass(frozen=True, slots=True)
class Reading:
    """One sensor reading, exactly the EIP-712 `Reading` struct.

    `device` is stored EIP-55 checksummed (any valid spelling is accepted);
    `batch_id` is the 32-byte on-chain batch id.

    Raises:
        MalformedReading: a field has the wrong type or is outside its Solidity type's range.
    """

    device: str
    batch_id: bytes
    seq: int
    timestamp: int
    temp_milli_c: int
    humidity_permille: int

    def __post_init__(self) -> None:
        try:
            device = normalize_address(self.device)
        except ValueError as exc:
            raise MalformedReading("device", str(exc)) from None
        if not isinstance(self.batch_id, bytes) or len(self.batch_id) != 32:
            raise MalformedReading("batchId", f"must be 32 bytes, got {self.batch_id!r}")
        for name, (attribute, low, high) in _INTEGER_FIELDS.items():
            _check_integer(name, getattr(self, attribute), low, high)
        object.__setattr__(self, "device", device)

    @classmethod
    def stored(
        cls,
        device: str,
        batch_id: bytes,
        seq: int,
        timestamp: int,
        temp_milli_c: int,
        humidity_permille: int,
    ) -> Reading:
        """A reading rebuilt from values the bridge validated before storing them, without
        checking them again (the window closer rebuilds every stored reading)."""
        reading = object.__new__(cls)
        setattr_ = object.__setattr__
        setattr_(reading, "device", device)
        setattr_(reading, "batch_id", batch_id)
        setattr_(reading, "seq", seq)
        setattr_(reading, "timestamp", timestamp)
        setattr_(reading, "temp_milli_c", temp_milli_c)
        setattr_(reading, "humidity_permille", humidity_permille)
        return reading


@dataclass(frozen=True, slots=True)
class SignedReading:
    """A reading with its device's 65-byte r||s||v EIP-712 signature."""

    reading: Reading
    signature: bytes


@dataclass(frozen=True, slots=True)
class ReadingDomain:
    """The EIP-712 domain of one `ColdChainCompliance` deployment.

    Raises:
        InvalidDomain: a chain id outside uint256 (or zero), or a malformed contract address.
    """

    chain_id: int
    verifying_contract: str
    separator: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        contract, separator = domain_separator(
            name=DOMAIN_NAME,
            version=DOMAIN_VERSION,
            chain_id=self.chain_id,
            contract=self.verifying_contract,
            role="verifying contract",
        )
        object.__setattr__(self, "verifying_contract", contract)
        object.__setattr__(self, "separator", separator)


def domain_separator(
    *, name: str, version: str, chain_id: int, contract: str, role: str
) -> tuple[str, bytes]:
    """The checksummed `contract` and the EIP-712 domain separator of (name, version,
    chain id, contract), as Solidity's `EIP712` computes it.

    Raises:
        InvalidDomain: a chain id outside uint256 (or zero), or a malformed contract address
            (named by its `role`).
    """
    if type(chain_id) is not int or not 0 < chain_id <= UINT256_MAX:
        raise InvalidDomain(f"chain id must be a positive uint256, got {chain_id!r}")
    try:
        contract = normalize_address(contract)
    except ValueError as exc:
        raise InvalidDomain(f"{role}: {exc}") from None
    separator = keccak256(
        DOMAIN_TYPE_HASH
        + keccak256(name.encode())
        + keccak256(version.encode())
        + chain_id.to_bytes(32, "big")
        + _ADDRESS_PAD
        + bytes.fromhex(contract[2:])
    )
    return contract, separator


# Cached: the readings of one device and batch all begin with the same words.
@lru_cache(maxsize=65_536)
def _struct_head(device: str, batch_id: bytes) -> bytes:
    """The encoded type hash, device and batch id: the first words of `hashStruct`'s input."""
    return READING_TYPE_HASH + _ADDRESS_PAD + bytes.fromhex(device[2:]) + batch_id


def _struct_tail(reading: Reading) -> bytes:
    return (
        reading.seq.to_bytes(32, "big")
        + reading.timestamp.to_bytes(32, "big")
        + reading.temp_milli_c.to_bytes(32, "big", signed=True)
        + reading.humidity_permille.to_bytes(32, "big")
    )


def struct_hash(reading: Reading) -> bytes:
    """EIP-712 `hashStruct` of the reading (the contract's `hashReading` before the domain)."""
    return keccak256(_struct_head(reading.device, reading.batch_id) + _struct_tail(reading))


def struct_hashes(readings: Iterable[Reading]) -> list[bytes]:
    """`struct_hash` of each reading; the device and batch words are encoded once per run of
    readings that share them (a window's readings all do)."""
    hashes = []
    owner: tuple[str, bytes] | None = None
    head = b""
    for reading in readings:
        if owner != (reading.device, reading.batch_id):
            owner = (reading.device, reading.batch_id)
            head = _struct_head(*owner)
        hashes.append(keccak256(head + _struct_tail(reading)))
    return hashes


def digest(reading: Reading, *, domain: ReadingDomain) -> bytes:
    """The 32-byte EIP-712 digest a device signs: keccak256(0x1901 ‖ separator ‖ hashStruct)."""
    return keccak256(b"\x19\x01" + domain.separator + struct_hash(reading))


def typed_data(reading: Reading, *, domain: ReadingDomain) -> dict[str, Any]:
    """The reading as an EIP-712 typed-data document (for wallets and `eth_account`)."""
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
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": domain.chain_id,
            "verifyingContract": domain.verifying_contract,
        },
        "message": {
            "device": reading.device,
            "batchId": reading.batch_id,
            "seq": reading.seq,
            "timestamp": reading.timestamp,
            "tempMilliC": reading.temp_milli_c,
            "humidityPermille": reading.humidity_permille,
        },
    }


def to_json_object(signed: SignedReading) -> dict[str, Any]:
    """The JSON object form of a signed reading: the struct's field names, hex `0x` bytes."""
    reading = signed.reading
    return {
        "device": reading.device,
        "batchId": "0x" + reading.batch_id.hex(),
        "seq": reading.seq,
        "timestamp": reading.timestamp,
        "tempMilliC": reading.temp_milli_c,
        "humidityPermille": reading.humidity_permille,
        "signature": "0x" + signed.signature.hex(),
    }


def to_json(signed: SignedReading) -> str:
    """The signed reading as compact JSON text (the MQTT payload and HTTP body item)."""
    return json.dumps(to_json_object(signed), separators=(",", ":"))


def _hex_bytes(name: str, value: object) -> bytes:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            pass
        else:
            # `fromhex` skips whitespace: a shorter result means the text was not pure hex.
            if 2 * len(raw) == len(value) - 2:
                return raw
    raise MalformedReading(name, f"must be 0x-prefixed hex bytes, got {value!r}")


def from_json_object(obj: object) -> SignedReading:
    """A signed reading from its parsed JSON object, validated strictly.

    Every key of the JSON form is required and no other key is allowed; integers must be
    JSON integers (not strings, floats or booleans) within their Solidity type's range.
    The signature's length and values are checked later, by verification.

    Raises:
        MalformedReading: naming the first offending field.
    """
    if not isinstance(obj, dict):
        raise MalformedReading("(reading)", f"must be a JSON object, got {type(obj).__name__}")
    if obj.keys() != _JSON_KEYS:
        missing = sorted(_JSON_KEYS - obj.keys())
        if missing:
            raise MalformedReading(missing[0], "is missing")
        unknown = sorted(obj.keys() - _JSON_KEYS)
        raise MalformedReading(unknown[0], "is not a field of a signed reading")
    batch_id = _hex_bytes("batchId", obj["batchId"])
    if len(batch_id) != 32:
        raise MalformedReading("batchId", f"must be 32 bytes, got {len(batch_id)}")
    signature = _hex_bytes("signature", obj["signature"])
    for name, (_, low, high) in _INTEGER_FIELDS.items():
        _check_integer(name, obj[name], low, high)
    try:
        device = normalize_address(obj["device"])
    except ValueError as exc:
        raise MalformedReading("device", str(exc)) from None
    # Every field is checked above, as `Reading` would check it: skip checking them twice.
    reading = Reading.stored(
        device,
        batch_id,
        obj["seq"],
        obj["timestamp"],
        obj["tempMilliC"],
        obj["humidityPermille"],
    )
    return SignedReading(reading=reading, signature=signature)


def from_json(text: str | bytes) -> SignedReading:
    """A signed reading from UTF-8 JSON text (see `from_json_object`), read within
    `json_input`'s limits; duplicate keys are rejected.

    Raises:
        MalformedReading: not JSON (or JSON `json_input` refuses), or naming the first
            offending field.
    """
    try:
        obj = json_input.loads(text)
    except json_input.DuplicateKey as exc:
        raise MalformedReading(exc.key, "appears twice") from None
    except json_input.InvalidJson as exc:
        raise MalformedReading("(reading)", f"is not JSON: {exc}") from None
    return from_json_object(obj)
