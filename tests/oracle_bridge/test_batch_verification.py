"""Batch verification (`_batch_verify.c`): readings of devices whose keys are known are verified
together, and a batch accepts exactly what one recovery per reading would accept.

Two levels: `verify_batch` itself (every false member makes the whole batch false), and
screening with the device keys learnt, checked against the Python `screen` one by one.
"""

from __future__ import annotations

import json
import random
import threading

import pytest
from coincurve import PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle_bridge.device import DeviceKey
from oracle_bridge.native import HotPath, PythonHotPath, load_native
from oracle_bridge.readings import READING_TYPE_HASH, Reading, SignedReading, digest, to_json
from oracle_bridge.screening import Refusal, Screened, screen, screen_all
from oracle_bridge.verification import SECP256K1_N
from tests.oracle_bridge.bridge_factories import BATCH_ID, DOMAIN, T0

# The C hot path these tests hold to Python's answers (the reference where it is missing:
# `test_readings_are_screened_in_c_here` then fails).
NATIVE = load_native()
hotpath = NATIVE.module if NATIVE is not None else None
IN_C: HotPath = NATIVE or PythonHotPath()

pytestmark = pytest.mark.skipif(
    hotpath is None or not hotpath.BATCH_VERIFY, reason="built without libsecp256k1's source"
)

NOW = T0 + 100.0
OPTIONS = {"domain": DOMAIN, "now": NOW, "max_message_bytes": 4096, "max_future_skew_s": 300}
FLEET = [DeviceKey.generate() for _ in range(6)]
SECRETS = [PrivateKey() for _ in range(4)]
KEYS = [secret.public_key.format(compressed=False)[1:] for secret in SECRETS]
DIGESTS = [random.Random(n).randbytes(32) for n in range(40)]


def signature_of(secret: PrivateKey, message_digest: bytes) -> bytes:
    """65 bytes r||s||v (low s, v = 27 or 28), as devices sign."""
    compact = secret.sign_recoverable(message_digest, hasher=None)
    return compact[:64] + bytes((compact[64] + 27,))


def items(count: int) -> list[tuple[bytes, bytes, int]]:
    """`count` (signature, digest, key index) items, signed by the keys in turn."""
    return [
        (signature_of(SECRETS[i % len(SECRETS)], DIGESTS[i]), DIGESTS[i], i % len(SECRETS))
        for i in range(count)
    ]


def raw(device: DeviceKey, seq: int, *, signer: DeviceKey | None = None) -> bytes:
    """A reading of `device`, signed by `signer` (its own key unless given)."""
    reading = Reading(
        device=device.address,
        batch_id=BATCH_ID,
        seq=seq,
        timestamp=T0 + seq,
        temp_milli_c=5000,
        humidity_permille=500,
    )
    if signer is None:
        return to_json(device.sign(reading, domain=DOMAIN)).encode()
    forged = signature_of(PrivateKey(signer.private_key), digest(reading, domain=DOMAIN))
    return to_json(SignedReading(reading, forged)).encode()


def in_c(raws: list[bytes]) -> list[bool]:
    passed = hotpath.screen_many(  # type: ignore[union-attr]
        raws, READING_TYPE_HASH, DOMAIN.separator, NOW + 300, 4096
    )
    return [item is not None for item in passed]


def agrees(raws: list[bytes]) -> list[Screened | Refusal]:
    results = screen_all(raws, hot_path=IN_C, **OPTIONS)
    assert results == [screen(raw, **OPTIONS) for raw in raws]
    return results


def learn_fleet() -> None:
    hotpath.forget_keys()  # type: ignore[union-attr]
    assert all(in_c([raw(device, 1) for device in FLEET]))


# --- verify_batch -------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 7, 40])
def test_a_batch_of_true_signatures_verifies(count: int) -> None:
    assert hotpath.verify_batch(KEYS, items(count)) is True  # type: ignore[union-attr]


def corrupt(item: tuple[bytes, bytes, int], how: str) -> tuple[bytes, bytes, int]:
    signature, message_digest, key = item
    if how == "digest":
        return signature, bytes([message_digest[0] ^ 1]) + message_digest[1:], key
    if how == "key":  # a true signature, credited to another key of the batch
        return signature, message_digest, (key + 1) % len(KEYS)
    if how == "r":
        r = (int.from_bytes(signature[:32], "big") + 1) % SECP256K1_N
        return r.to_bytes(32, "big") + signature[32:], message_digest, key
    if how == "s":
        s = int.from_bytes(signature[32:64], "big") ^ 1
        return signature[:32] + s.to_bytes(32, "big") + signature[64:], message_digest, key
    if how == "parity":  # R's mirror point: recovers another key
        return signature[:64] + bytes((55 - signature[64],)), message_digest, key
    raise AssertionError(how)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=40).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(min_value=0, max_value=n - 1))
    ),
    st.sampled_from(["digest", "key", "r", "s", "parity"]),
)
def test_one_false_signature_makes_the_batch_false(where: tuple[int, int], how: str) -> None:
    count, index = where
    batch = items(count)
    batch[index] = corrupt(batch[index], how)

    assert hotpath.verify_batch(KEYS, batch) is False  # type: ignore[union-attr]


def test_a_key_off_the_curve_or_a_zero_s_is_false() -> None:
    batch = items(4)
    off_curve = KEYS[:3] + [KEYS[3][:63] + bytes((KEYS[3][63] ^ 1,))]
    signature, message_digest, key = batch[0]
    zero_s = [(signature[:32] + bytes(32) + signature[64:], message_digest, key)] + batch[1:]

    assert hotpath.verify_batch(off_curve, batch) is False  # type: ignore[union-attr]
    assert hotpath.verify_batch(KEYS, zero_s) is False  # type: ignore[union-attr]


def test_malformed_items_are_refused_with_a_reason() -> None:
    signature, message_digest, _ = items(1)[0]
    with pytest.raises(ValueError, match="an item is"):
        hotpath.verify_batch(KEYS, [(signature, message_digest, 9)])  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="64 bytes"):
        hotpath.verify_batch([b"\x04" * 65], [(signature, message_digest, 0)])  # type: ignore[union-attr]


# --- screening with the devices' keys learnt ------------------------------------------------


def test_known_devices_readings_pass_as_python_decides() -> None:
    learn_fleet()
    raws = [raw(device, seq) for seq in range(2, 12) for device in FLEET]

    results = agrees(raws)

    assert all(isinstance(result, Screened) for result in results)


def test_a_reading_signed_by_another_known_device_is_refused_alone() -> None:
    learn_fleet()
    raws = [raw(device, seq) for seq in range(2, 8) for device in FLEET]
    impostor = len(raws) // 2
    raws[impostor] = raw(FLEET[0], 99, signer=FLEET[1])

    results = agrees(raws)

    assert in_c(raws) == [i != impostor for i in range(len(raws))]
    refused = results[impostor]
    assert isinstance(refused, Refusal) and refused.code == "signature_mismatch"
    assert sum(isinstance(result, Screened) for result in results) == len(raws) - 1


def test_a_forged_signature_among_known_devices_is_refused_alone() -> None:
    learn_fleet()
    raws = [raw(device, seq) for seq in range(2, 8) for device in FLEET]
    obj = json.loads(raws[7])
    signature = bytearray.fromhex(obj["signature"][2:])
    signature[10] ^= 0x40
    obj["signature"] = "0x" + signature.hex()
    raws[7] = json.dumps(obj, separators=(",", ":")).encode()

    agrees(raws)

    assert in_c(raws) == [i != 7 for i in range(len(raws))]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(FLEET) - 1), st.integers(0, 3)), max_size=30))
def test_any_mix_of_true_and_impostor_readings_is_decided_as_python_decides_it(
    picks: list[tuple[int, int]],
) -> None:
    """Each reading: a fleet device's, signed by itself or (1-3 devices on) another."""
    learn_fleet()
    raws = [
        raw(FLEET[d], seq, signer=FLEET[(d + shift) % len(FLEET)] if shift else None)
        for seq, (d, shift) in enumerate(picks, start=2)
    ]

    assert in_c(raws) == [shift == 0 for _, shift in picks]
    agrees(raws)


def test_readings_are_decided_alike_with_keys_learnt_or_not() -> None:
    raws = [raw(device, seq) for seq in range(2, 6) for device in FLEET]
    raws[3] = raw(FLEET[3], 3, signer=FLEET[4])
    hotpath.forget_keys()  # type: ignore[union-attr]
    cold = in_c(raws)  # each device's first reading recovered alone, the rest batched
    warm = in_c(raws)

    assert cold == warm == [i != 3 for i in range(len(raws))]


def test_threads_screening_while_keys_are_forgotten_decide_alike() -> None:
    raws = [raw(device, seq) for seq in range(2, 10) for device in FLEET]
    raws[5] = raw(FLEET[5], 5, signer=FLEET[0])
    expected = [i != 5 for i in range(len(raws))]
    outcomes: list[bool] = []

    def screen_repeatedly() -> None:
        for _ in range(15):
            outcomes.append(in_c(raws) == expected)

    threads = [threading.Thread(target=screen_repeatedly) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(20):
        hotpath.forget_keys()  # type: ignore[union-attr]
    for thread in threads:
        thread.join()

    assert outcomes == [True] * 60
