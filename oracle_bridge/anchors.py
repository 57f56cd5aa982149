"""`anchorReadings` calldata and `ReadingsAnchored` logs, encoded and decoded by hand (pure).

Shared by the submitter (which sends and later looks for anchorings) and the proofs (which
re-read them from the chain).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector

from ledger_client.hashing import keccak256
from oracle_bridge.addresses import checksum_address

ANCHOR_READINGS_SELECTOR = function_signature_to_4byte_selector(
    "anchorReadings(bytes32,bytes32,uint64,uint64,bytes)"
)
READINGS_ANCHORED_TOPIC = (
    "0x" + keccak256(b"ReadingsAnchored(bytes32,address,bytes32,uint64,uint64)").hex()
)
# Execution (role check, batch look-up, event) plus the EIP-7623 calldata floor of 40 gas
# per non-zero byte: an upper bound, since unused gas is not charged.
_ANCHOR_BASE_GAS = 80_000
_GAS_PER_CALLDATA_BYTE = 40


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def encode_anchor_readings(
    *, batch_id: bytes, merkle_root: bytes, first_seq: int, last_seq: int, packed: bytes
) -> bytes:
    """Calldata of `anchorReadings(batchId, merkleRoot, firstSeq, lastSeq, packedReadings)`."""
    padding = -len(packed) % 32
    return b"".join(
        (
            ANCHOR_READINGS_SELECTOR,
            batch_id,
            merkle_root,
            _word(first_seq),
            _word(last_seq),
            _word(32 * 5),
            _word(len(packed)),
            packed,
            b"\x00" * padding,
        )
    )


def anchor_gas_bound(calldata: bytes) -> int:
    """Gas enough for an `anchorReadings` transaction with this calldata."""
    return _ANCHOR_BASE_GAS + _GAS_PER_CALLDATA_BYTE * len(calldata)


@dataclass(frozen=True)
class AnchorCall:
    """The arguments of one `anchorReadings` call."""

    batch_id: bytes
    merkle_root: bytes
    first_seq: int
    last_seq: int
    packed: bytes


def decode_anchor_readings(calldata: bytes) -> AnchorCall:
    """The arguments of `anchorReadings` calldata.

    Raises:
        ValueError: not a call of `anchorReadings`, or malformed.
    """
    if calldata[:4] != ANCHOR_READINGS_SELECTOR:
        raise ValueError("the transaction does not call anchorReadings")
    batch_id, root, first_seq, last_seq, packed = decode(
        ["bytes32", "bytes32", "uint64", "uint64", "bytes"], calldata[4:]
    )
    return AnchorCall(batch_id, root, first_seq, last_seq, packed)


@dataclass(frozen=True)
class AnchoredWindow:
    """One `ReadingsAnchored` log."""

    batch_id: bytes
    device: str
    merkle_root: bytes
    first_seq: int
    last_seq: int
    tx_hash: str
    block_number: int


def decode_readings_anchored(log: dict) -> AnchoredWindow | None:
    """The anchoring a raw JSON-RPC log records, or None for any other log."""
    topics = log["topics"]
    if len(topics) != 3 or topics[0].lower() != READINGS_ANCHORED_TOPIC or log.get("removed"):
        return None
    data = bytes.fromhex(log["data"][2:])
    if len(data) != 96:
        return None
    block = log["blockNumber"]
    return AnchoredWindow(
        batch_id=bytes.fromhex(topics[1][2:]),
        device=checksum_address(bytes.fromhex(topics[2][2:])[12:]),
        merkle_root=data[:32],
        first_seq=int.from_bytes(data[32:64], "big"),
        last_seq=int.from_bytes(data[64:96], "big"),
        tx_hash=log["transactionHash"],
        block_number=int(block, 16) if isinstance(block, str) else block,
    )
