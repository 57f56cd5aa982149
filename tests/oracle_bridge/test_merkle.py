"""Merkle trees whose proofs OpenZeppelin's MerkleProof.verify accepts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from oracle_bridge.merkle import MerkleTree, hash_pair, leaf, verify, window_root
from oracle_bridge.native import HotPath
from oracle_bridge.readings import struct_hash
from tests.oracle_bridge.bridge_factories import T0, reading, readings

pytestmark = pytest.mark.unit

hashes = st.binary(min_size=32, max_size=32)
leaf_lists = st.lists(hashes, min_size=1, max_size=70)


def oz_hash_pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin Hashes.commutativeKeccak256, written out: keccak256(min ‖ max)."""
    return keccak(min(a, b) + max(a, b))


def test_leaf_is_the_double_hash_of_the_reading() -> None:
    r = reading(3, T0)
    assert leaf(r) == keccak(struct_hash(r))


def test_small_trees_by_hand() -> None:
    a, b, c, d, e = (keccak(bytes([i])) for i in range(5))
    assert MerkleTree([a]).root == a
    assert MerkleTree([a]).proof(0) == []
    assert MerkleTree([a, b]).root == oz_hash_pair(a, b)
    three = MerkleTree([a, b, c])
    assert three.root == oz_hash_pair(oz_hash_pair(a, b), c)
    assert three.proof(2) == [oz_hash_pair(a, b)]
    assert three.proof(0) == [b, c]
    five = MerkleTree([a, b, c, d, e])
    assert five.root == oz_hash_pair(oz_hash_pair(oz_hash_pair(a, b), oz_hash_pair(c, d)), e)
    assert five.proof(4) == [oz_hash_pair(oz_hash_pair(a, b), oz_hash_pair(c, d))]
    assert five.proof(3) == [c, oz_hash_pair(a, b), e]


@given(hashes, hashes)
def test_hash_pair_is_openzeppelins_commutative_keccak(a: bytes, b: bytes) -> None:
    assert hash_pair(a, b) == hash_pair(b, a) == oz_hash_pair(a, b)


@given(leaf_lists)
def test_every_proof_verifies(leaves: list[bytes]) -> None:
    tree = MerkleTree(leaves)
    assert len(tree) == len(leaves)
    for index, value in enumerate(leaves):
        assert verify(tree.proof(index), tree.root, value)


@given(leaf_lists, st.data())
def test_a_changed_leaf_does_not_verify(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    changed = data.draw(hashes.filter(lambda h: h not in leaves))
    assert not verify(tree.proof(index), tree.root, changed)


@given(leaf_lists, st.data())
def test_a_changed_leaf_changes_the_root(leaves: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(leaves) - 1))
    changed = data.draw(hashes.filter(lambda h: h != leaves[index]))
    assert (
        MerkleTree([*leaves[:index], changed, *leaves[index + 1 :]]).root != MerkleTree(leaves).root
    )


@given(st.lists(hashes, min_size=2, max_size=40, unique=True), st.data())
def test_a_proof_of_another_leaf_does_not_verify(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    other = data.draw(st.integers(0, len(leaves) - 1).filter(lambda i: i != index))
    assert not verify(tree.proof(other), tree.root, leaves[index])


def test_tree_of_readings() -> None:
    readings = [reading(seq, T0 + 60 * seq, 4000 + seq) for seq in range(1, 1001)]
    tree = MerkleTree([leaf(r) for r in readings])
    assert verify(tree.proof(999), tree.root, leaf(readings[999]))
    assert len(tree.proof(0)) == 10


def test_invalid_trees_and_indexes() -> None:
    with pytest.raises(ValueError):
        MerkleTree([])
    with pytest.raises(ValueError):
        MerkleTree([b"short"])
    with pytest.raises(IndexError):
        MerkleTree([keccak(b"a")]).proof(1)
    with pytest.raises(IndexError):
        MerkleTree([keccak(b"a")]).proof(-1)


def window_of(count: int, **fields: object) -> list:  # type: ignore[type-arg]
    return [reading(seq, T0 + seq, temp_milli_c=-3000 + 7 * seq, **fields) for seq in range(count)]


def test_window_roots_are_computed_in_c_here(native_hot_path: HotPath) -> None:
    assert native_hot_path.name == "c"


@given(st.integers(min_value=1, max_value=300))
def test_a_window_root_is_its_merkle_tree_root(hot_path: HotPath, count: int) -> None:
    readings = window_of(count)
    assert window_root(readings, hot_path=hot_path) == MerkleTree([leaf(r) for r in readings]).root


@given(readings, st.integers(1, 5))
def test_a_window_root_covers_every_field_value(hot_path: HotPath, first, count: int) -> None:  # type: ignore[no-untyped-def]
    window = [replace(first, seq=first.seq // 2 + k) for k in range(count)]
    assert window_root(window, hot_path=hot_path) == MerkleTree([leaf(r) for r in window]).root


def test_a_window_root_changes_with_any_field_of_any_reading(hot_path: HotPath) -> None:
    window = window_of(5)
    root = window_root(window, hot_path=hot_path)
    for field in ("timestamp", "temp_milli_c", "humidity_permille"):
        changed = [
            *window[:3],
            replace(window[3], **{field: getattr(window[3], field) + 1}),
            window[4],
        ]
        assert window_root(changed, hot_path=hot_path) != root, field


def test_readings_of_several_devices_or_batches_are_rooted_in_python(hot_path: HotPath) -> None:
    window = [*window_of(2), reading(9, T0, batch_id=b"\x01" * 32)]
    assert window_root(window, hot_path=hot_path) == MerkleTree([leaf(r) for r in window]).root


def test_an_empty_window_has_no_root(hot_path: HotPath) -> None:
    with pytest.raises(ValueError, match="at least one leaf"):
        window_root([], hot_path=hot_path)
