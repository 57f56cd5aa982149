"""The two ports the ingestor and the window closer ask the chain through: which devices
may report for which batch (`DevicePolicy`), and which rule a batch is held to
(`RuleSource`); plus the verdict logic every adapter shares (`verdicts`).

Adapters: `oracle_bridge.policy.chain` (the contracts), `oracle_bridge.policy.memory` (the
in-memory fakes unit tests use).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from oracle_bridge.errors import DeviceRefused, NoRule
from oracle_bridge.rules import Rule

UNKNOWN_DEVICE = "unknown device"
INACTIVE_DEVICE = "inactive device"
UNASSIGNED_DEVICE = "device not assigned to this batch"
UNCALIBRATED_DEVICE = "no valid calibration credential"
NO_RULE = "no cold-chain rule for this batch's product class"

# What `DevicePolicy.check_many` says of a pair: None (may report) or the refusal.
Verdict = DeviceRefused | None


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


def verdicts(
    pairs: Collection[tuple[str, bytes]],
    *,
    registered: Callable[[str], RegisteredDevice | None],
    rules: RuleSource,
    calibration: CalibrationCheck | None,
) -> dict[tuple[str, bytes], Verdict]:
    """Each pair's verdict: registration, the batch's rule, then calibration where the rule
    requires it (the credentials layer's check, `credentials.calibration`, asked once)."""
    found: dict[tuple[str, bytes], Verdict] = {}
    uncalibrated: list[tuple[str, bytes]] = []
    rule_of: dict[bytes, Rule] = {}  # a lot's devices share its rule: asked once a lot
    for device, batch_id in pairs:
        found[(device, batch_id)] = None
        try:
            check_registration(registered(device), batch_id=batch_id)
            rule = rule_of.get(batch_id)
            if rule is None:
                try:
                    rule = rule_of[batch_id] = rules.rule(batch_id)
                except NoRule:
                    raise DeviceRefused("no_rule", NO_RULE) from None
        except DeviceRefused as exc:
            found[(device, batch_id)] = exc
            continue
        if rule.require_calibration:
            uncalibrated.append((device, batch_id))
    if uncalibrated:
        calibrated = set(calibration({d for d, _ in uncalibrated})) if calibration else set()
        for device, batch_id in uncalibrated:
            if device not in calibrated:
                found[(device, batch_id)] = DeviceRefused(
                    "uncalibrated_device", UNCALIBRATED_DEVICE
                )
    return found
