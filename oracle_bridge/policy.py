"""Which devices may report for which batch, and which rule a batch is held to.

Two ports with two adapters each: `ChainDevicePolicy` / `ChainRuleSource` read the
DeviceRegistry, ProvenanceLedger and ColdChainCompliance (cached briefly, and served stale
while the chain is unreachable); `InMemoryDevicePolicy` / `InMemoryRuleSource` are the fakes
unit tests use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import requests
from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector
from eth_utils.abi import collapse_if_tuple
from web3 import Web3
from web3.exceptions import Web3Exception

from ledger_client.artifacts import load_artifact
from ledger_client.chain import rpc_many
from ledger_client.deployment import Deployment
from ledger_client.errors import LedgerError
from ledger_client.lifecycle import BatchStatus
from oracle_bridge.errors import ChainUnavailable, DeviceRefused, NoRule
from oracle_bridge.rules import Rule

UNKNOWN_DEVICE = "unknown device"
INACTIVE_DEVICE = "inactive device"
UNASSIGNED_DEVICE = "device not assigned to this batch"
UNCALIBRATED_DEVICE = "no valid calibration credential"
NO_RULE = "no cold-chain rule for this batch's product class"

# `DeviceRegistry.device(address)` calldata, but for the address's 40 hex digits.
_DEVICE_SELECTOR = "0x" + function_signature_to_4byte_selector("device(address)").hex() + "0" * 24

# What a chain read can raise when the node is down or answers garbage.
CHAIN_ERRORS = (requests.RequestException, OSError, Web3Exception, LedgerError)


class DevicePolicy(Protocol):
    def check(self, device: str, batch_id: bytes) -> None:
        """Return when `device` may report readings of `batch_id`.

        Raises:
            DeviceRefused: unknown, inactive, not assigned to the batch, the batch has no
                rule, or the rule requires a calibration credential the device lacks.
            ChainUnavailable: the answer is not known and the chain cannot be asked.
        """

    def check_many(self, pairs: Collection[tuple[str, bytes]]) -> dict[tuple[str, bytes], Verdict]:
        """`check` of each (device, batch id) pair, what the chain must tell asked for all
        of them at once: None where the device may report, else why not.

        Raises:
            ChainUnavailable: an answer is not known and the chain cannot be asked.
        """


class RuleSource(Protocol):
    def rule(self, batch_id: bytes) -> Rule:
        """The cold-chain rule `batch_id` is held to (its product class's current rule).

        Raises:
            NoRule: unknown batch, or no rule set for its product class.
            ChainUnavailable: the answer is not known and the chain cannot be asked.
        """


class CalibrationCheck(Protocol):
    def __call__(self, devices: Collection[str]) -> Collection[str]:
        """Those of `devices` that hold a valid calibration credential now (asked once for
        all the devices of a batch whose rule requires one).

        Raises:
            ChainUnavailable: an answer is not known and the chain cannot be asked.
        """


@dataclass(frozen=True, slots=True)
class RegisteredDevice:
    """What the DeviceRegistry says about a device (None when it is not registered)."""

    active: bool
    assigned_batch: bytes


def check_registration(registered: RegisteredDevice | None, *, batch_id: bytes) -> None:
    """Refuse an unregistered, inactive or elsewhere-assigned device."""
    if registered is None:
        raise DeviceRefused("unknown_device", UNKNOWN_DEVICE)
    if not registered.active:
        raise DeviceRefused("inactive_device", INACTIVE_DEVICE)
    if registered.assigned_batch != batch_id:
        raise DeviceRefused("unassigned_device", UNASSIGNED_DEVICE)


def _verdicts(
    pairs: Collection[tuple[str, bytes]],
    *,
    registered: Callable[[str], RegisteredDevice | None],
    rules: RuleSource,
    calibration: CalibrationCheck | None,
) -> dict[tuple[str, bytes], Verdict]:
    """Each pair's verdict: registration, the batch's rule, then calibration where the rule
    requires it (the credentials layer's check, `credentials.calibration`, asked once)."""
    verdicts: dict[tuple[str, bytes], Verdict] = {}
    uncalibrated: list[tuple[str, bytes]] = []
    rule_of: dict[bytes, Rule] = {}  # a lot's devices share its rule: asked once a lot
    for device, batch_id in pairs:
        verdicts[(device, batch_id)] = None
        try:
            check_registration(registered(device), batch_id=batch_id)
            rule = rule_of.get(batch_id)
            if rule is None:
                try:
                    rule = rule_of[batch_id] = rules.rule(batch_id)
                except NoRule:
                    raise DeviceRefused("no_rule", NO_RULE) from None
        except DeviceRefused as exc:
            verdicts[(device, batch_id)] = exc
            continue
        if rule.require_calibration:
            uncalibrated.append((device, batch_id))
    if uncalibrated:
        calibrated = set(calibration({d for d, _ in uncalibrated})) if calibration else set()
        for device, batch_id in uncalibrated:
            if device not in calibrated:
                verdicts[(device, batch_id)] = DeviceRefused(
                    "uncalibrated_device", UNCALIBRATED_DEVICE
                )
    return verdicts


# What `DevicePolicy.check_many` says of a pair: None (may report) or the refusal.
Verdict = DeviceRefused | None

K = TypeVar("K")
V = TypeVar("V")


class _ChainCache(Generic[K, V]):
    """Values read from the chain, fresh for `ttl_s`; a stale value is served while the
    chain is unreachable, since refusing a known device then would lose its readings."""

    def __init__(self, ttl_s: float, clock: Callable[[], float]) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[K, tuple[float, V]] = {}

    def get(self, key: K, load: Callable[[K], V]) -> V:
        now = self._clock()
        with self._lock:
            cached = self._values.get(key)
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        try:
            value = load(key)
        except CHAIN_ERRORS as exc:
            if cached is not None:
                return cached[1]
            raise ChainUnavailable(f"the chain did not answer ({type(exc).__name__})") from exc
        with self._lock:
            self._values[key] = (now, value)
        return value

    def get_many(
        self, keys: Collection[K], load_many: Callable[[list[K]], dict[K, V]]
    ) -> dict[K, V]:
        """`get` of each key; those not fresh are loaded together, by one `load_many`."""
        now = self._clock()
        with self._lock:
            cached = {key: self._values.get(key) for key in keys}
        values = {
            key: entry[1]
            for key, entry in cached.items()
            if entry is not None and now - entry[0] < self._ttl_s
        }
        stale = [key for key in cached if key not in values]
        if not stale:
            return values
        try:
            loaded = load_many(stale)
        except CHAIN_ERRORS as exc:
            for key in stale:
                entry = cached[key]
                if entry is None:
                    raise ChainUnavailable(
                        f"the chain did not answer ({type(exc).__name__})"
                    ) from exc
                values[key] = entry[1]
            return values
        with self._lock:
            self._values.update((key, (now, value)) for key, value in loaded.items())
        return values | loaded


class ChainRuleSource:
    """Rules from the chain: ProvenanceLedger.batch(id).productClass, then
    ColdChainCompliance.rule(productClass)."""

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        *,
        cache_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ledger = w3.eth.contract(
            address=deployment.address("ProvenanceLedger"),
            abi=load_artifact("ProvenanceLedger").abi,
        )
        self._compliance = w3.eth.contract(
            address=deployment.address("ColdChainCompliance"),
            abi=load_artifact("ColdChainCompliance").abi,
        )
        self._cache: _ChainCache[bytes, Rule | None] = _ChainCache(cache_s, clock)

    def rule(self, batch_id: bytes) -> Rule:
        rule = self._cache.get(batch_id, self._load)
        if rule is None:
            raise NoRule(f"batch 0x{batch_id.hex()} is unknown or its product class has no rule")
        return rule

    def _load(self, batch_id: bytes) -> Rule | None:
        _, status, _, _, product_class = self._ledger.functions.batch(batch_id).call()
        if status == BatchStatus.NONE:
            return None
        fields, version = self._compliance.functions.rule(product_class).call()
        if version == 0:
            return None
        return Rule(*fields)


class ChainDevicePolicy:
    """The DeviceRegistry's view of each device, plus the batch's rule for calibration."""

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        *,
        rules: RuleSource,
        calibration: CalibrationCheck | None = None,
        cache_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._w3 = w3
        self._registry = w3.eth.contract(
            address=deployment.address("DeviceRegistry"),
            abi=load_artifact("DeviceRegistry").abi,
        )
        outputs = self._registry.get_function_by_name("device").abi["outputs"]
        self._device_types = [collapse_if_tuple(output) for output in outputs]
        self._rules = rules
        self._calibration = calibration
        self._cache: _ChainCache[str, RegisteredDevice | None] = _ChainCache(cache_s, clock)

    def check(self, device: str, batch_id: bytes) -> None:
        verdict = _verdicts(
            [(device, batch_id)],
            registered=lambda d: self._cache.get(d, self._load),
            rules=self._rules,
            calibration=self._calibration,
        )[(device, batch_id)]
        if verdict is not None:
            raise verdict

    def check_many(self, pairs: Collection[tuple[str, bytes]]) -> dict[tuple[str, bytes], Verdict]:
        registered = self._cache.get_many({device for device, _ in pairs}, self._load_many)
        return _verdicts(
            pairs,
            registered=registered.__getitem__,
            rules=self._rules,
            calibration=self._calibration,
        )

    def _load(self, device: str) -> RegisteredDevice | None:
        _, _, assigned_batch, active, _, registered_at = self._registry.functions.device(
            device
        ).call()
        if registered_at == 0:
            return None
        return RegisteredDevice(active=active, assigned_batch=assigned_batch)

    def _load_many(self, devices: list[str]) -> dict[str, RegisteredDevice | None]:
        """The registry's entries of `devices`, read in one JSON-RPC batch of calls."""
        calls = [
            (
                "eth_call",
                [{"to": self._registry.address, "data": _DEVICE_SELECTOR + device[2:]}, "latest"],
            )
            for device in devices
        ]
        loaded: dict[str, RegisteredDevice | None] = {}
        for device, result in zip(devices, rpc_many(self._w3, calls), strict=True):
            ((_, _, assigned_batch, active, _, registered_at),) = decode(
                self._device_types, bytes.fromhex(result[2:])
            )
            loaded[device] = (
                RegisteredDevice(active=active, assigned_batch=assigned_batch)
                if registered_at
                else None
            )
        return loaded


class InMemoryRuleSource:
    """Rules per batch id, set by the test."""

    def __init__(self, rules: dict[bytes, Rule] | None = None) -> None:
        self.rules = dict(rules or {})

    def rule(self, batch_id: bytes) -> Rule:
        try:
            return self.rules[batch_id]
        except KeyError:
            raise NoRule(f"no rule for batch 0x{batch_id.hex()}") from None


class InMemoryDevicePolicy:
    """Registered devices held in a dict, set by the test."""

    def __init__(self, *, rules: RuleSource, calibration: CalibrationCheck | None = None) -> None:
        self.devices: dict[str, RegisteredDevice] = {}
        self._rules = rules
        self._calibration = calibration

    def register(self, device: str, *, batch_id: bytes, active: bool = True) -> None:
        self.devices[device] = RegisteredDevice(active=active, assigned_batch=batch_id)

    def check(self, device: str, batch_id: bytes) -> None:
        verdict = self.check_many([(device, batch_id)])[(device, batch_id)]
        if verdict is not None:
            raise verdict

    def check_many(self, pairs: Collection[tuple[str, bytes]]) -> dict[tuple[str, bytes], Verdict]:
        return _verdicts(
            pairs, registered=self.devices.get, rules=self._rules, calibration=self._calibration
        )
