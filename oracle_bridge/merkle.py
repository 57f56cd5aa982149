"""Merkle trees of readings whose proofs OpenZeppelin's `MerkleProof.verify` accepts.

A parent is keccak256 of its two children sorted (OpenZeppelin's commutative hash), so a
proof is just the sibling hashes, bottom up. Leaves keep their given order; at each level an
unpaired last node moves up unchanged (and adds no sibling to proofs). A leaf is
keccak256(struct_hash(reading)): hashing twice keeps a leaf from ever equalling an inner node.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ledger_client.hashing import keccak256
from oracle_bridge.readings import Reading, struct_hash, struct_hashes

if TYPE_CHECKING:
    from oracle_bridge.native import HotPath


def leaf(reading: Reading) -> bytes:
    """The reading's leaf: keccak256(EIP-712 hashStruct(reading))."""
    return keccak256(struct_hash(reading))


def leaves(readings: Iterable[Reading]) -> list[bytes]:
    """`leaf` of each reading, faster for a window's readings (one device, one batch)."""
    return [keccak256(hashed) for hashed in struct_hashes(readings)]


def hash_pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin `Hashes.commutativeKeccak256`: keccak256 of the two sorted hashes."""
    return keccak256(a + b if a < b else b + a)


class MerkleTree:
    """A tree over 32-byte leaves, built once; `root` and `proof(index)` are then lookups."""

    __slots__ = ("_levels",)

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        if any(len(node) != 32 for node in leaves):
            raise ValueError("Merkle leaves are 32-byte hashes")
        level = list(leaves)
        self._levels = [level]
        while len(level) > 1:
            parents = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                parents.append(level[-1])
            level = parents
            self._levels.append(level)

    @property
    def root(self) -> bytes:
        """The 32-byte root the contract anchors."""
        return self._levels[-1][0]

    def __len__(self) -> int:
        return len(self._levels[0])

    def proof(self, index: int) -> list[bytes]:
        """The sibling hashes proving leaf `index`, bottom up (`MerkleProof.verify`'s proof)."""
        if not 0 <= index < len(self):
            raise IndexError(f"leaf index {index} is outside 0..{len(self) - 1}")
        siblings = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                siblings.append(level[sibling])
            index //= 2
        return siblings


def window_root(readings: Sequence[Reading], *, hot_path: HotPath) -> bytes:
    """`MerkleTree(leaves(readings)).root`, in C for a window's readings (one device, one
    batch) by `hot_path` (in C, the window closer's share of hashing per reading).

    Raises:
        ValueError: no readings.
    """
    if not readings:
        raise ValueError("a Merkle tree needs at least one leaf")
    first = readings[0]
    if any(r.device != first.device or r.batch_id != first.batch_id for r in readings):
        return MerkleTree(leaves(readings)).root
    return hot_path.window_root(readings)


def verify(proof: Sequence[bytes], root: bytes, leaf: bytes) -> bool:
    """Whether `proof` links `leaf` to `root` (OpenZeppelin `MerkleProof.verify`)."""
    computed = leaf
    for sibling in proof:
        computed = hash_pair(computed, sibling)
    return computed == root
