"""The policy ports' chain adapters: `ChainDevicePolicy` / `ChainRuleSource` read the
DeviceRegistry, ProvenanceLedger and ColdChainCompliance, cached briefly and served stale
while the chain is unreachable. A read the chain refuses (a revert, a JSON-RPC error: the
deployment record is not this chain's) is no outage: it raises `ChainRejected`, stale or not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from typing import Generic, TypeVar

from web3 import Web3

from ledger_client.chain import CHAIN_UNREACHABLE, chain_refusals
from ledger_client.deployment import Deployment
from ledger_client.device_registry import DeviceRecord, DeviceRegistryView
from ledger_client.errors import ChainUnavailable
from ledger_client.ledger import LedgerView
from ledger_client.lifecycle import BatchStatus
from ledger_client.reads import ReadBatch
from oracle_bridge.contracts import ComplianceRulesView
from oracle_bridge.errors import NoRule
from oracle_bridge.policy.port import (
    CalibrationCheck,
    RegisteredDevice,
    RuleSource,
    Verdict,
    verdicts,
)
from oracle_bridge.rules import Rule

K = TypeVar("K")
V = TypeVar("V")


class _ChainCache(Generic[K, V]):
    """Values read from the chain, fresh for `ttl_s`; a stale value is served while the
    chain is unreachable, since refusing a known device then would lose its readings. A load
    the chain refuses raises its `ChainRejected` as is."""

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
        except CHAIN_UNREACHABLE as exc:
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
        except CHAIN_UNREACHABLE as exc:
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
        self._ledger = LedgerView(w3, deployment)
        self._compliance = ComplianceRulesView(w3, deployment)
        self._cache: _ChainCache[bytes, Rule | None] = _ChainCache(cache_s, clock)

    def rule(self, batch_id: bytes) -> Rule:
        rule = self._cache.get(batch_id, self._load)
        if rule is None:
            raise NoRule(f"batch 0x{batch_id.hex()} is unknown or its product class has no rule")
        return rule

    def _load(self, batch_id: bytes) -> Rule | None:
        with chain_refusals("ProvenanceLedger.batch"):
            batch = self._ledger.batch(batch_id)
        if batch.status == BatchStatus.NONE:
            return None
        with chain_refusals("ColdChainCompliance.rule"):
            stored = self._compliance.rule(batch.product_class)
        return stored[0] if stored is not None else None


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
        self._registry = DeviceRegistryView(w3, deployment)
        self._rules = rules
        self._calibration = calibration
        self._cache: _ChainCache[str, RegisteredDevice | None] = _ChainCache(cache_s, clock)

    def check(self, device: str, batch_id: bytes) -> None:
        verdict = verdicts(
            [(device, batch_id)],
            registered=lambda d: self._cache.get(d, self._load),
            rules=self._rules,
            calibration=self._calibration,
        )[(device, batch_id)]
        if verdict is not None:
            raise verdict

    def check_many(self, pairs: Collection[tuple[str, bytes]]) -> dict[tuple[str, bytes], Verdict]:
        registered = self._cache.get_many({device for device, _ in pairs}, self._load_many)
        return verdicts(
            pairs,
            registered=registered.__getitem__,
            rules=self._rules,
            calibration=self._calibration,
        )

    def _load(self, device: str) -> RegisteredDevice | None:
        with chain_refusals("DeviceRegistry.device"):
            return _policy_view(self._registry.device(device))

    def _load_many(self, devices: list[str]) -> dict[str, RegisteredDevice | None]:
        """The registry's entries of `devices`, read in one JSON-RPC batch of calls."""
        batch = ReadBatch()
        for device in devices:
            batch.add(self._registry.device_read(device))
        registered = batch.run(self._registry.w3)
        return {
            device: _policy_view(entry) for device, entry in zip(devices, registered, strict=True)
        }


def _policy_view(entry: DeviceRecord | None) -> RegisteredDevice | None:
    """What the policy needs of the registry's entry of a device."""
    if entry is None:
        return None
    return RegisteredDevice(active=entry.active, assigned_batch=entry.assigned_batch)
