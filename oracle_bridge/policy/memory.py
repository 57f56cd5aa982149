"""The policy ports' in-memory fakes, set by the test: `InMemoryRuleSource`,
`InMemoryDevicePolicy`."""

from __future__ import annotations

from collections.abc import Collection

from oracle_bridge.errors import NoRule
from oracle_bridge.policy.port import (
    CalibrationCheck,
    RegisteredDevice,
    RuleSource,
    Verdict,
    verdicts,
)
from oracle_bridge.rules import Rule


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
        return verdicts(
            pairs, registered=self.devices.get, rules=self._rules, calibration=self._calibration
        )
