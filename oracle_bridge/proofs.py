"""Proofs that a stored reading is on the ledger, and their verification against the chain.

`reading_proof` reads the bridge's database; `verify_against_chain` trusts none of it: it
re-reads the anchoring transaction and its `ReadingsAnchored` log from the node, checks the
Merkle proof against the anchored root, the reading against the anchored calldata, and the
device's signature under the deployment's EIP-712 domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import col, select
from web3 import Web3

from ledger_client.chain import rpc
from ledger_client.deployment import Deployment
from oracle_bridge import merkle
from oracle_bridge.anchors import decode_anchor_readings, decode_readings_anchored
from oracle_bridge.errors import (
    InvalidSignature,
    MalformedPacking,
    ProofInvalid,
    ReadingNotAnchored,
    ReadingNotFound,
)
from oracle_bridge.packing import unpack
from oracle_bridge.readings import ReadingDomain, SignedReading
from oracle_bridge.store import InboxReading, ReadingWindow, WindowStatus, reading_session
from oracle_bridge.verification import verify


@dataclass(frozen=True)
class ReadingProof:
    """A signed reading with the Merkle proof linking it to its window's anchored root."""

    signed: SignedReading
    leaf_index: int
    proof: tuple[bytes, ...]
    merkle_root: bytes
    first_seq: int
    last_seq: int
    anchor_tx_hash: str
    anchor_block: int


@dataclass(frozen=True)
class VerifiedReading:
    """What the chain confirmed about a reading."""

    signed: SignedReading
    merkle_root: bytes
    anchor_tx_hash: str
    anchor_block: int


def reading_proof(engine: Engine, *, device: str, seq: int) -> ReadingProof:
    """The proof of reading `seq` of `device` from the bridge's database.

    Raises:
        ReadingNotFound: no such reading in the inbox.
        ReadingNotAnchored: its window is not anchored yet.
    """
    with reading_session(engine) as session:
        row = session.scalars(
            select(InboxReading).where(InboxReading.device == device, InboxReading.seq == seq)
        ).first()
        if row is None:
            raise ReadingNotFound(f"no reading {seq} of {device} in the bridge's inbox")
        window = session.get(ReadingWindow, row.window_id) if row.window_id else None
        if window is None or window.status != WindowStatus.ANCHORED:
            raise ReadingNotAnchored(
                f"reading {seq} of {device} is not anchored yet; ask again in a few seconds"
            )
        rows = session.scalars(
            select(InboxReading)
            .where(
                InboxReading.device == device,
                col(InboxReading.seq) >= window.first_seq,
                col(InboxReading.seq) <= window.last_seq,
            )
            .order_by(col(InboxReading.seq))
        ).all()
    tree = merkle.MerkleTree([merkle.leaf(r.signed_reading().reading) for r in rows])
    index = seq - window.first_seq
    assert window.tx_hash is not None and window.block_number is not None
    return ReadingProof(
        signed=row.signed_reading(),
        leaf_index=index,
        proof=tuple(tree.proof(index)),
        merkle_root=tree.root,
        first_seq=window.first_seq,
        last_seq=window.last_seq,
        anchor_tx_hash=window.tx_hash,
        anchor_block=window.block_number,
    )


def verify_against_chain(w3: Web3, deployment: Deployment, proof: ReadingProof) -> VerifiedReading:
    """Check `proof` against the chain alone; returns what the chain confirmed.

    Raises:
        ProofInvalid: naming the first check that failed (no such transaction, no matching
            anchoring log, calldata that differs from the reading, a proof that does not reach
            the anchored root, or a signature that is not the device's).
    """
    compliance = deployment.address("ColdChainCompliance")
    chain_id = w3.eth.chain_id
    if chain_id != deployment.chain_id:
        raise ProofInvalid(
            f"the node is chain {chain_id}, the deployment chain {deployment.chain_id}"
        )
    reading = proof.signed.reading
    receipt = rpc(w3, "eth_getTransactionReceipt", [proof.anchor_tx_hash])
    if not isinstance(receipt, dict) or int(receipt["status"], 16) != 1:
        raise ProofInvalid(f"no successful transaction {proof.anchor_tx_hash} on chain {chain_id}")
    anchored = next(
        (
            window
            for raw in receipt["logs"]
            if raw["address"].lower() == compliance.lower()
            and (window := decode_readings_anchored(raw)) is not None
            and window.batch_id == reading.batch_id
            and window.device == reading.device
            and window.first_seq <= reading.seq <= window.last_seq
        ),
        None,
    )
    if anchored is None:
        raise ProofInvalid(
            f"transaction {proof.anchor_tx_hash} anchors no window of {reading.device} holding"
            f" seq {reading.seq}"
        )
    tx = rpc(w3, "eth_getTransactionByHash", [proof.anchor_tx_hash])
    assert isinstance(tx, dict)
    try:
        call = decode_anchor_readings(bytes.fromhex(tx["input"][2:]))
        if (call.first_seq, call.merkle_root) != (anchored.first_seq, anchored.merkle_root):
            raise ValueError("the call's window differs from its log's")
        window_readings = unpack(call.packed, batch_id=call.batch_id, first_seq=call.first_seq)
    except (ValueError, MalformedPacking) as exc:
        raise ProofInvalid(f"the anchoring calldata does not decode: {exc}") from None
    index = reading.seq - anchored.first_seq
    if window_readings[index] != reading:
        raise ProofInvalid("the anchored calldata records different values for this reading")
    leaf = merkle.leaf(reading)
    if not merkle.verify(proof.proof, anchored.merkle_root, leaf):
        raise ProofInvalid("the Merkle proof does not lead to the anchored root")
    if merkle.MerkleTree([merkle.leaf(r) for r in window_readings]).root != anchored.merkle_root:
        raise ProofInvalid("the anchored root is not the root of the anchored readings")
    try:
        verify(proof.signed, domain=ReadingDomain(chain_id=chain_id, verifying_contract=compliance))
    except InvalidSignature as exc:
        raise ProofInvalid(f"the device signature does not hold: {exc.reason}") from None
    return VerifiedReading(
        signed=proof.signed,
        merkle_root=anchored.merkle_root,
        anchor_tx_hash=anchored.tx_hash,
        anchor_block=anchored.block_number,
    )
