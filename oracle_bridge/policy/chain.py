"""The policy ports' chain adapters: `ChainDevicePolicy` / `ChainRuleSource` read the
DeviceRegistry, ProvenanceLedger and ColdChainCompliance, cached briefly and served stale
while the chain is unreachable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from typing import Generic, TypeVar

import requests
from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector
from eth_utils.abi import collapse_if_tuple
from web3 import Web3
from web3.exceptions import Web3Exception

from ledger_client.chain import rpc_many
from ledger_client.deployment import Deployment
from ledger_client.errors import LedgerError
from ledger_client.lifecycle import BatchStatus
from oracle_bridge.errors import ChainUnavailable, NoRule
from oracle_bridge.policy.port import (
    CalibrationCheck,
    RegisteredDevice,
    RuleSource,
    Verdict,
    verdicts,
)
from oracle_bridge.rules import Rule

# `DeviceRegistry.device(address)` calldata, but for the address's 40 hex digits.
_DEVICE_SELECTOR = "0x" + function_signature_to_4byte_selector("device(address)").hex() + "0" * 24

# What a chain read can raise when the node is down or answers garbage.
CHAIN_ERRORS = (requests.RequestException, OSError, Web3Exception, LedgerError)

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
        self._ledger = deployment.contract(w3, "ProvenanceLedger")
        self._compliance = deployment.contract(w3, "ColdChainCompliance")
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
        self._registry = deployment.contract(w3, "DeviceRegistry")
        outputs = self._registry.get_function_by_name("device").abi["outputs"]
        self._device_types = [collapse_if_tuple(output) for output in outputs]
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
