"""The cold-chain rule engine: one pure function, mirrored exactly by `ColdChainCompliance`.

`oracle_bridge/RULES.md` is the specification both follow; the comments P1-P2 and 1-5 below
are its numbering. The bridge runs `evaluate` over every reading to decide which ones the
contract must see (`must_submit`, `readings_to_submit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from oracle_bridge.errors import (
    InvalidRule,
    MissingPreviousReading,
    StaleSequence,
    TimestampRegression,
)
from oracle_bridge.readings import Reading, SignedReading

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
UINT32_MAX = 2**32 - 1


class Decision(IntEnum):
    """What a reading did to its batch's compliance (the contract's uint8 enum, same numbers)."""

    NONE = 0
    EXCURSION_STARTED = 1
    EXCURSION_EXTENDED = 2
    EXCURSION_ENDED = 3
    QUARANTINE_EXCURSION = 4
    QUARANTINE_HARD_LIMIT = 5
    QUARANTINE_DATA_GAP = 6
    QUARANTINE_MISSING_EVIDENCE = 7

    @property
    def quarantines(self) -> bool:
        """Whether the contract quarantines the batch on this decision."""
        return self >= Decision.QUARANTINE_EXCURSION


QUARANTINE_REASONS: Mapping[Decision, str] = {
    Decision.QUARANTINE_EXCURSION: "cold-chain: excursion too long",
    Decision.QUARANTINE_HARD_LIMIT: "cold-chain: hard limit",
    Decision.QUARANTINE_DATA_GAP: "cold-chain: data gap",
    Decision.QUARANTINE_MISSING_EVIDENCE: "cold-chain: reading missing during excursion",
}

# snake_case field -> the contract's / fixture's camelCase name
_RULE_KEYS = {
    "min_milli_c": "minMilliC",
    "max_milli_c": "maxMilliC",
    "hard_min_milli_c": "hardMinMilliC",
    "hard_max_milli_c": "hardMaxMilliC",
    "allowed_excursion_seconds": "allowedExcursionSeconds",
    "max_data_gap_seconds": "maxDataGapSeconds",
    "require_calibration": "requireCalibration",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A product class's cold-chain rule (the contract's `Rule` struct).

    `max_data_gap_seconds == 0` disables the data-gap check.

    Raises:
        InvalidRule: unless hard_min <= min < max <= hard_max, and every field fits its type.
    """

    min_milli_c: int
    max_milli_c: int
    hard_min_milli_c: int
    hard_max_milli_c: int
    allowed_excursion_seconds: int
    max_data_gap_seconds: int
    require_calibration: bool = False

    def __post_init__(self) -> None:
        for name in ("min_milli_c", "max_milli_c", "hard_min_milli_c", "hard_max_milli_c"):
            _check_field(name, getattr(self, name), INT32_MIN, INT32_MAX)
        for name in ("allowed_excursion_seconds", "max_data_gap_seconds"):
            _check_field(name, getattr(self, name), 0, UINT32_MAX)
        if type(self.require_calibration) is not bool:
            raise InvalidRule(
                f"require_calibration must be a bool, got {self.require_calibration!r}"
            )
        if not (
            self.hard_min_milli_c <= self.min_milli_c < self.max_milli_c <= self.hard_max_milli_c
        ):
            raise InvalidRule(
                "a rule needs hardMin <= min < max <= hardMax, got "
                f"{self.hard_min_milli_c} <= {self.min_milli_c} < {self.max_milli_c}"
                f" <= {self.hard_max_milli_c}"
            )

    def as_struct(self) -> tuple[int, int, int, int, int, int, bool]:
        """The contract's `Rule` struct: the fields in declaration order."""
        return (
            self.min_milli_c,
            self.max_milli_c,
            self.hard_min_milli_c,
            self.hard_max_milli_c,
            self.allowed_excursion_seconds,
            self.max_data_gap_seconds,
            self.require_calibration,
        )

    @classmethod
    def from_json_object(cls, obj: Mapping[str, object]) -> Rule:
        """A rule from its camelCase JSON form (as in the shared fixture);
        `requireCalibration` defaults to false.

        Raises:
            InvalidRule: a missing or unknown key, or an invalid rule.
        """
        known = set(_RULE_KEYS.values())
        unknown = sorted(set(obj) - known)
        if unknown:
            raise InvalidRule(f"unknown rule field {unknown[0]!r}")
        values = {name: obj[key] for name, key in _RULE_KEYS.items() if key in obj}
        missing = [key for name, key in _RULE_KEYS.items() if name not in values]
        if missing and missing != ["requireCalibration"]:
            raise InvalidRule(f"rule field {missing[0]!r} is missing")
        return cls(**values)  # type: ignore[arg-type]


def _check_field(name: str, value: object, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:
        raise InvalidRule(f"{name} must be an integer in [{low}, {high}], got {value!r}")


@dataclass(frozen=True, slots=True)
class ComplianceState:
    """The compliance state of one device on one batch; `last_seq == 0`: no reading yet."""

    last_seq: int = 0
    last_timestamp: int = 0
    in_excursion: bool = False
    excursion_start: int = 0

    @classmethod
    def of(cls, holder: HoldsComplianceState) -> ComplianceState:
        """The state kept in `holder`'s fields of the same names (a stored row, a drafting
        job's copy of it)."""
        return cls(
            last_seq=holder.last_seq,
            last_timestamp=holder.last_timestamp,
            in_excursion=holder.in_excursion,
            excursion_start=holder.excursion_start,
        )


class HoldsComplianceState(Protocol):
    """Anything that keeps a `ComplianceState`'s four fields (read only here)."""

    @property
    def last_seq(self) -> int: ...
    @property
    def last_timestamp(self) -> int: ...
    @property
    def in_excursion(self) -> bool: ...
    @property
    def excursion_start(self) -> int: ...


def evaluate(
    *, rule: Rule, state: ComplianceState, reading: Reading
) -> tuple[ComplianceState, Decision]:
    """The state after `reading` and the decision it causes, exactly as RULES.md specifies.

    Raises:
        StaleSequence: seq not above `state.last_seq` (P1).
        TimestampRegression: timestamp before `state.last_timestamp` (P2).
    """
    seq, timestamp, temp = reading.seq, reading.timestamp, reading.temp_milli_c
    if seq <= state.last_seq:
        raise StaleSequence(seq=seq, last_seq=state.last_seq)
    if timestamp < state.last_timestamp:
        raise TimestampRegression(timestamp=timestamp, last_timestamp=state.last_timestamp)

    in_excursion, excursion_start = state.in_excursion, state.excursion_start
    if temp < rule.hard_min_milli_c or temp > rule.hard_max_milli_c:
        decision = Decision.QUARANTINE_HARD_LIMIT
    elif in_excursion and seq != state.last_seq + 1:
        # A reading withheld during an excursion quarantines: it could have shown anything.
        decision = Decision.QUARANTINE_MISSING_EVIDENCE
    elif (
        rule.max_data_gap_seconds > 0
        and state.last_seq != 0
        and seq == state.last_seq + 1
        and timestamp - state.last_timestamp > rule.max_data_gap_seconds
    ):
        decision = Decision.QUARANTINE_DATA_GAP
    elif temp < rule.min_milli_c or temp > rule.max_milli_c:
        if not in_excursion:
            in_excursion, excursion_start = True, timestamp
            decision = Decision.EXCURSION_STARTED
        elif timestamp - excursion_start > rule.allowed_excursion_seconds:
            decision = Decision.QUARANTINE_EXCURSION
        else:
            decision = Decision.EXCURSION_EXTENDED
    elif in_excursion:
        in_excursion = False
        decision = Decision.EXCURSION_ENDED
    else:
        decision = Decision.NONE

    if decision.quarantines:
        in_excursion, excursion_start = False, 0
    return (
        ComplianceState(
            last_seq=seq,
            last_timestamp=timestamp,
            in_excursion=in_excursion,
            excursion_start=excursion_start,
        ),
        decision,
    )


def must_submit(*, state_before: ComplianceState, decision: Decision) -> bool:
    """Whether the contract must see the reading: it changes compliance state, or it is
    evidence inside an excursion (so an in-range reading can never be hidden, and the
    contract's last seq during an excursion is the engine's: both see a missing one)."""
    return decision != Decision.NONE or state_before.in_excursion


def readings_to_submit(
    *,
    state_before: ComplianceState,
    decision: Decision,
    reading: SignedReading,
    previous: SignedReading | None,
    submitted_seq: int,
) -> tuple[SignedReading, ...]:
    """The signed readings to send to `submitReadings` for `reading`, in order.

    `previous` is the reading accepted just before (seq `state_before.last_seq`), or None;
    `submitted_seq` is the seq of the last reading of this batch and device sent on chain
    (0 if none). On a data gap the contract can only see the gap if it also gets the
    previous reading, so that one goes first unless the chain has it already.

    Raises:
        MissingPreviousReading: a data gap, the chain lacks the previous reading, and
            `previous` is not it.
    """
    if not must_submit(state_before=state_before, decision=decision):
        return ()
    if decision != Decision.QUARANTINE_DATA_GAP or submitted_seq >= state_before.last_seq:
        return (reading,)
    if previous is None or previous.reading.seq != state_before.last_seq:
        raise MissingPreviousReading(
            f"a data gap after seq {state_before.last_seq} needs that reading submitted first;"
            " pass it as `previous`"
        )
    return (previous, reading)
