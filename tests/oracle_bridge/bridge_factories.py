"""Hypothesis strategies and small builders for the oracle bridge tests."""

from __future__ import annotations

from hypothesis import strategies as st

from oracle_bridge.addresses import checksum_address
from oracle_bridge.device import DeviceKey
from oracle_bridge.readings import Reading, ReadingDomain
from oracle_bridge.rules import Rule

# anvil's first development key: a fixed device for readable failures
DEVICE = DeviceKey.from_private_key(
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
)
BATCH_ID = bytes.fromhex("ab" * 32)
DOMAIN = ReadingDomain(
    chain_id=31337, verifying_contract="0x5FbDB2315678afecb367f032d93F642f64180aa3"
)
T0 = 1_700_000_000

# the rule of the RULES.md example: 2-8 °C, hard limits -5/25 °C, 30 min excursions, 1 h gaps
RULE = Rule(
    min_milli_c=2000,
    max_milli_c=8000,
    hard_min_milli_c=-5000,
    hard_max_milli_c=25000,
    allowed_excursion_seconds=1800,
    max_data_gap_seconds=3600,
)

addresses = st.binary(min_size=20, max_size=20).map(checksum_address)
uint64s = st.integers(min_value=0, max_value=2**64 - 1)
readings = st.builds(
    Reading,
    device=addresses,
    batch_id=st.binary(min_size=32, max_size=32),
    seq=uint64s,
    timestamp=uint64s,
    temp_milli_c=st.integers(min_value=-(2**31), max_value=2**31 - 1),
    humidity_permille=st.integers(min_value=0, max_value=2**16 - 1),
)
domains = st.builds(
    ReadingDomain,
    chain_id=st.integers(min_value=1, max_value=2**256 - 1),
    verifying_contract=addresses,
)


def reading(seq: int, timestamp: int, temp_milli_c: int = 5000, **fields: object) -> Reading:
    """A reading of `DEVICE` on `BATCH_ID`."""
    values: dict[str, object] = {
        "device": DEVICE.address,
        "batch_id": BATCH_ID,
        "seq": seq,
        "timestamp": timestamp,
        "temp_milli_c": temp_milli_c,
        "humidity_permille": 500,
    }
    values.update(fields)
    return Reading(**values)  # type: ignore[arg-type]
