"""The device library: keys, DIDs, signing, and the simulator's reading profiles."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle_bridge.device import DeviceKey, ReadingProfile
from oracle_bridge.errors import InvalidDeviceKey, WrongDevice
from oracle_bridge.readings import Reading
from oracle_bridge.rules import ComplianceState, Decision, evaluate
from oracle_bridge.verification import SECP256K1_HALF_N, SECP256K1_N, verify
from tests.oracle_bridge.bridge_factories import BATCH_ID, DEVICE, DOMAIN, RULE, T0, reading

pytestmark = pytest.mark.unit

ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def test_address_and_did_of_a_known_key() -> None:
    key = DeviceKey.from_private_key(ANVIL_KEY)
    assert key.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert key.did(31337) == "did:pkh:eip155:31337:0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=SECP256K1_N - 1))
def test_address_equals_eth_account(secret: int) -> None:
    raw = secret.to_bytes(32, "big")
    expected = Account.from_key(raw).address
    assert DeviceKey.from_private_key(raw).address == expected
    assert DeviceKey.from_private_key(raw.hex()).address == expected
    assert DeviceKey.from_private_key("0x" + raw.hex()).private_key == raw


def test_generated_keys_differ_and_round_trip() -> None:
    first, second = DeviceKey.generate(), DeviceKey.generate()
    assert first.address != second.address
    assert DeviceKey.from_private_key(first.private_key).address == first.address


def test_repr_does_not_show_the_private_key() -> None:
    key = DeviceKey.from_private_key(ANVIL_KEY)
    assert ANVIL_KEY[2:] not in repr(key)
    assert key.address in repr(key)


@pytest.mark.parametrize(
    "private_key",
    [
        "0x" + "00" * 32,
        SECP256K1_N.to_bytes(32, "big"),
        "0x1234",
        "zz" * 32,
        b"\x01" * 31,
        ANVIL_KEY + "00",
    ],
)
def test_invalid_private_keys_are_rejected(private_key: bytes | str) -> None:
    with pytest.raises(InvalidDeviceKey):
        DeviceKey.from_private_key(private_key)


@pytest.mark.parametrize("chain_id", [0, -1, "1"])
def test_did_needs_a_positive_chain_id(chain_id: object) -> None:
    with pytest.raises(ValueError):
        DEVICE.did(chain_id)  # type: ignore[arg-type]


@given(
    st.integers(min_value=1, max_value=2**64 - 1),
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
)
def test_signatures_are_low_s_with_v_27_or_28(seq: int, temp: int) -> None:
    signed = DEVICE.sign(reading(seq, T0, temp), domain=DOMAIN)
    assert len(signed.signature) == 65
    assert signed.signature[64] in (27, 28)
    assert 0 < int.from_bytes(signed.signature[32:64], "big") <= SECP256K1_HALF_N
    assert verify(signed, domain=DOMAIN) == DEVICE.address


def test_a_key_does_not_sign_another_devices_reading() -> None:
    with pytest.raises(WrongDevice):
        DeviceKey.generate().sign(reading(1, T0), domain=DOMAIN)


PROFILE = ReadingProfile(device=DEVICE.address, batch_id=BATCH_ID, start_timestamp=T0)


def assert_contiguous(readings: list[Reading]) -> None:
    assert [r.seq for r in readings] == list(range(1, len(readings) + 1))
    assert all(a.timestamp <= b.timestamp for a, b in zip(readings, readings[1:], strict=False))
    assert all(r.device == DEVICE.address and r.batch_id == BATCH_ID for r in readings)


def decisions(readings: list[Reading]) -> list[Decision]:
    state, result = ComplianceState(), []
    for r in readings:
        state, decision = evaluate(rule=RULE, state=state, reading=r)
        result.append(decision)
    return result


def test_steady_profile() -> None:
    readings = list(PROFILE.steady(5))
    assert_contiguous(readings)
    assert [r.timestamp for r in readings] == [T0 + 60 * i for i in range(5)]
    assert {r.temp_milli_c for r in readings} == {5000}
    assert decisions(readings) == [Decision.NONE] * 5


@pytest.mark.parametrize("duration", [0, 59, 60, 61, 150, 1800, 1801])
def test_excursion_profile_lasts_exactly_the_duration(duration: int) -> None:
    readings = list(PROFILE.excursion(temp_milli_c=9000, duration_seconds=duration, before=2))
    assert_contiguous(readings)
    out = [r for r in readings if r.temp_milli_c == 9000]
    assert out[-1].timestamp - out[0].timestamp == duration
    assert readings[-1].temp_milli_c == 5000
    assert readings[-1].timestamp - out[-1].timestamp == 60
    expected_last = Decision.QUARANTINE_EXCURSION if duration > 1800 else Decision.EXCURSION_ENDED
    assert decisions(readings)[-1 if duration <= 1800 else -2] == expected_last


def test_data_gap_profile() -> None:
    readings = list(PROFILE.data_gap(gap_seconds=4000, before=3, after=2))
    assert_contiguous(readings)
    assert [r.timestamp - T0 for r in readings] == [0, 60, 120, 4120, 4180]
    assert decisions(readings) == [0, 0, 0, Decision.QUARANTINE_DATA_GAP, 0]


def test_hard_limit_profile() -> None:
    readings = list(PROFILE.hard_limit(temp_milli_c=30000, before=1, after=1))
    assert_contiguous(readings)
    assert decisions(readings) == [0, Decision.QUARANTINE_HARD_LIMIT, 0]


def test_profile_continues_from_its_first_seq() -> None:
    later = ReadingProfile(
        device=DEVICE.address,
        batch_id=BATCH_ID,
        start_timestamp=T0,
        first_seq=10,
        interval_seconds=5,
    )
    assert [(r.seq, r.timestamp) for r in later.steady(2)] == [(10, T0), (11, T0 + 5)]
