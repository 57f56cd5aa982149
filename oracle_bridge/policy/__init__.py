"""Which devices may report for which batch, and which rule a batch is held to.

The ports (`port`): `DevicePolicy`, `RuleSource`, `CalibrationCheck`, re-exported here; their
chain adapters (`chain`) and in-memory fakes (`memory`) each in a module of their own.
"""

from oracle_bridge.policy.port import (
    INACTIVE_DEVICE,
    NO_RULE,
    UNASSIGNED_DEVICE,
    UNCALIBRATED_DEVICE,
    UNKNOWN_DEVICE,
    CalibrationCheck,
    DevicePolicy,
    RegisteredDevice,
    RuleSource,
    Verdict,
    check_registration,
    verdicts,
)

__all__ = [
    "INACTIVE_DEVICE",
    "NO_RULE",
    "UNASSIGNED_DEVICE",
    "UNCALIBRATED_DEVICE",
    "UNKNOWN_DEVICE",
    "CalibrationCheck",
    "DevicePolicy",
    "RegisteredDevice",
    "RuleSource",
    "Verdict",
    "check_registration",
    "verdicts",
]
