"""The device side: a sensor's key that signs readings and its own registration, and reading
streams for the simulator.

Real gateways use `DeviceKey` as-is; `ReadingProfile` produces the reading patterns the
cold-chain rule reacts to (steady, excursion, data gap, hard limit) as `ReadingStream`s, which
make each reading only when it is asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from coincurve import PrivateKey

from ledger_client.hashing import keccak256
from oracle_bridge.addresses import checksum_address, normalize_address
from oracle_bridge.errors import InvalidDeviceKey, WrongDevice
from oracle_bridge.readings import (
    Reading,
    ReadingDomain,
    SignedReading,
    digest,
    domain_separator,
)

REGISTRY_DOMAIN_NAME = "DeviceRegistry"
REGISTRY_DOMAIN_VERSION = "1"
REGISTRATION_TYPE = "DeviceRegistration(address device,address organization,string did)"
REGISTRATION_TYPE_HASH = keccak256(REGISTRATION_TYPE.encode())

_HEX_KEY = re.compile(r"(?:0x)?[0-9a-fA-F]{64}")


class DeviceKey:
    """A device's secp256k1 key; its Ethereum address is the device's on-chain identity."""

    __slots__ = ("_key", "address")

    def __init__(self, key: PrivateKey) -> None:
        self._key = key
        self.address: str = checksum_address(
            keccak256(key.public_key.format(compressed=False)[1:])[12:]
        )

    @classmethod
    def generate(cls) -> DeviceKey:
        """A new random key (from the OS's secure random source)."""
        return cls(PrivateKey())

    @classmethod
    def from_private_key(cls, private_key: bytes | str) -> DeviceKey:
        """The key from its 32 raw bytes or 64 hex digits (with or without `0x`).

        Raises:
            InvalidDeviceKey: wrong length or encoding, or not a valid secp256k1 scalar.
        """
        if isinstance(private_key, str):
            if not _HEX_KEY.fullmatch(private_key):
                raise InvalidDeviceKey("a device private key is 64 hex digits, optionally 0x-first")
            private_key = bytes.fromhex(private_key.removeprefix("0x"))
        if not isinstance(private_key, bytes) or len(private_key) != 32:
            raise InvalidDeviceKey("a device private key is 32 bytes")
        try:
            return cls(PrivateKey(private_key))
        except ValueError:
            raise InvalidDeviceKey("the private key is zero or not below the curve order") from None

    @property
    def private_key(self) -> bytes:
        """The 32 secret bytes, for storing the key; never log them."""
        return self._key.secret

    def did(self, chain_id: int) -> str:
        """The device's DID on chain `chain_id`: `did:pkh:eip155:{chainId}:{address}`."""
        if type(chain_id) is not int or chain_id <= 0:
            raise ValueError(f"chain id must be a positive integer, got {chain_id!r}")
        return f"did:pkh:eip155:{chain_id}:{self.address}"

    def sign(self, reading: Reading, *, domain: ReadingDomain) -> SignedReading:
        """The reading signed for `domain`: 65 bytes r||s||v, low s, v = 27 or 28.

        Raises:
            WrongDevice: the reading names another device.
        """
        if reading.device != self.address:
            raise WrongDevice(f"key of {self.address} cannot sign a reading of {reading.device}")
        return SignedReading(
            reading=reading, signature=self._sign_digest(digest(reading, domain=domain))
        )

    def sign_registration(self, *, organization: str, domain: RegistryDomain) -> DeviceRegistration:
        """The device's consent to be registered by `organization` (its account address) at
        `domain`'s `DeviceRegistry`, under its DID on that chain."""
        did = self.did(domain.chain_id)
        signed = registration_digest(
            device=self.address, organization=organization, did=did, domain=domain
        )
        return DeviceRegistration(
            device=self.address,
            organization=normalize_address(organization),
            did=did,
            signature=self._sign_digest(signed),
        )

    def _sign_digest(self, message_digest: bytes) -> bytes:
        """65 bytes r||s||v over a 32-byte digest, low s, v = 27 or 28."""
        signature = self._key.sign_recoverable(message_digest, hasher=None)
        # libsecp256k1 always signs with low s; its recovery id 0/1 becomes v 27/28.
        return signature[:64] + bytes((signature[64] + 27,))

    def __repr__(self) -> str:
        return f"DeviceKey(address={self.address!r})"


@dataclass(frozen=True, slots=True)
class RegistryDomain:
    """The EIP-712 domain of one `DeviceRegistry` deployment.

    Raises:
        InvalidDomain: a chain id outside uint256 (or zero), or a malformed contract address.
    """

    chain_id: int
    registry: str
    separator: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        registry, separator = domain_separator(
            name=REGISTRY_DOMAIN_NAME,
            version=REGISTRY_DOMAIN_VERSION,
            chain_id=self.chain_id,
            contract=self.registry,
            role="registry",
        )
        object.__setattr__(self, "registry", registry)
        object.__setattr__(self, "separator", separator)


@dataclass(frozen=True, slots=True)
class DeviceRegistration:
    """A device's signed consent to its registration by `organization` with `did`."""

    device: str
    organization: str
    did: str
    signature: bytes


def registration_digest(
    *, device: str, organization: str, did: str, domain: RegistryDomain
) -> bytes:
    """The 32-byte EIP-712 digest of `DeviceRegistration(device, organization, did)`: what the
    device signs and `DeviceRegistry.hashRegistration` returns."""
    struct_hash = keccak256(
        REGISTRATION_TYPE_HASH
        + _address_word(normalize_address(device))
        + _address_word(normalize_address(organization))
        + keccak256(did.encode())
    )
    return keccak256(b"\x19\x01" + domain.separator + struct_hash)


def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


@dataclass(frozen=True, slots=True)
class ReadingProfile:
    """How a simulated device reports: stream start, reporting interval, normal conditions.

    Every pattern yields contiguous seqs from `first_seq`, the first reading at
    `start_timestamp` and the next ones `interval_seconds` apart unless the pattern says
    otherwise; `temp_milli_c` is the in-range temperature.
    """

    device: str
    batch_id: bytes
    start_timestamp: int
    interval_seconds: int = 60
    first_seq: int = 1
    temp_milli_c: int = 5000
    humidity_permille: int = 500

    def __post_init__(self) -> None:
        if self.interval_seconds <= 0:
            raise ValueError(f"interval must be positive, got {self.interval_seconds}")

    def steady(self, count: int) -> ReadingStream:
        """`count` in-range readings."""
        return ReadingStream(self, [self._in_range(count)])

    def excursion(
        self, *, temp_milli_c: int, duration_seconds: int, before: int = 1, after: int = 1
    ) -> ReadingStream:
        """`before` in-range readings, out-of-range readings whose last is exactly
        `duration_seconds` after the first (the excursion length the rule measures), then
        `after` in-range readings."""
        if duration_seconds < 0:
            raise ValueError(f"duration must not be negative, got {duration_seconds}")
        whole_steps, last_step = divmod(duration_seconds, self.interval_seconds)
        return ReadingStream(
            self,
            [
                self._in_range(before),
                ReadingRun(1, self.interval_seconds, temp_milli_c),
                ReadingRun(whole_steps, self.interval_seconds, temp_milli_c),
                ReadingRun(1 if last_step else 0, last_step, temp_milli_c),
                self._in_range(after),
            ],
        )

    def data_gap(self, *, gap_seconds: int, before: int = 1, after: int = 1) -> ReadingStream:
        """`before` in-range readings, then silence: the next reading (the next seq) comes
        `gap_seconds` after the previous one, followed by `after - 1` more."""
        if before < 1 or after < 1:
            raise ValueError("a data gap needs a reading before it and one after it")
        return ReadingStream(
            self,
            [
                self._in_range(before),
                ReadingRun(1, gap_seconds, self.temp_milli_c),
                self._in_range(after - 1),
            ],
        )

    def hard_limit(self, *, temp_milli_c: int, before: int = 1, after: int = 1) -> ReadingStream:
        """`before` in-range readings, one reading at `temp_milli_c`, `after` in-range ones."""
        return ReadingStream(
            self,
            [
                self._in_range(before),
                ReadingRun(1, self.interval_seconds, temp_milli_c),
                self._in_range(after),
            ],
        )

    def _in_range(self, count: int) -> ReadingRun:
        return ReadingRun(count, self.interval_seconds, self.temp_milli_c)


@dataclass(frozen=True, slots=True)
class ReadingRun:
    """`count` readings at `temp_milli_c`, each `delay_seconds` after the one before it."""

    count: int
    delay_seconds: int
    temp_milli_c: int


class ReadingStream(Iterable[Reading]):
    """A pattern's readings, made one at a time as they are iterated: a stream of any length
    takes the same memory. How many there are and the first and last are known up front.

    Raises:
        MalformedReading: at construction, if any reading would be out of range (checking the
            first and last of each run is enough: seqs and timestamps only grow).
    """

    __slots__ = ("_profile", "_runs", "count", "first", "last")

    def __init__(self, profile: ReadingProfile, runs: Iterable[ReadingRun]) -> None:
        self._profile = profile
        self._runs = tuple(run for run in runs if run.count > 0)
        self.count = sum(run.count for run in self._runs)
        ends = []
        seq, timestamp = profile.first_seq, profile.start_timestamp
        for index, run in enumerate(self._runs):
            first_timestamp = timestamp + (run.delay_seconds if index else 0)
            timestamp = first_timestamp + run.delay_seconds * (run.count - 1)
            ends.append(self._reading(seq, first_timestamp, run.temp_milli_c))
            ends.append(self._reading(seq + run.count - 1, timestamp, run.temp_milli_c))
            seq += run.count
        self.first: Reading | None = ends[0] if ends else None
        self.last: Reading | None = ends[-1] if ends else None

    @property
    def span_seconds(self) -> int:
        """Seconds from the first reading to the last (0 for an empty stream)."""
        if self.first is None or self.last is None:
            return 0
        return self.last.timestamp - self.first.timestamp

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Reading]:
        seq, timestamp = self._profile.first_seq, self._profile.start_timestamp
        for index, run in enumerate(self._runs):
            for repeat in range(run.count):
                if index or repeat:
                    timestamp += run.delay_seconds
                yield self._reading(seq, timestamp, run.temp_milli_c)
                seq += 1

    def _reading(self, seq: int, timestamp: int, temp_milli_c: int) -> Reading:
        profile = self._profile
        return Reading(
            device=profile.device,
            batch_id=profile.batch_id,
            seq=seq,
            timestamp=timestamp,
            temp_milli_c=temp_milli_c,
            humidity_permille=profile.humidity_permille,
        )
