"""Mean kinetic temperature (USP <1079>) and time out of range of a shipment's readings.

MKT = (ΔH/R) / −ln( Σ e^(−ΔH/(R·T_i))·Δt_i / Σ Δt_i ), T_i in kelvin. Each reading stands
for the time until the next one (the last for the time since the one before), so readings at
equal intervals weigh equally, as in the USP's unweighted formula.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from oracle_bridge.errors import MalformedReading, NoReadings
from oracle_bridge.readings import Reading
from oracle_bridge.rules import Rule

ACTIVATION_ENERGY_J_PER_MOL = 83_144.0
GAS_CONSTANT_J_PER_MOL_K = 8.3144621
ZERO_CELSIUS_K = 273.15


def interval_weights(timestamps: Sequence[int]) -> list[int]:
    """Seconds each reading stands for: until the next reading; the last one, since the one
    before. All readings at one instant weigh 1 each."""
    if len(timestamps) < 2:
        return [1] * len(timestamps)
    weights = [later - earlier for earlier, later in zip(timestamps, timestamps[1:], strict=False)]
    weights.append(weights[-1])
    return weights if any(weights) else [1] * len(timestamps)


def mean_kinetic_temperature(readings: Sequence[Reading]) -> float:
    """The MKT, in °C, of one device's readings (taken in seq order), time-weighted.

    Raises:
        NoReadings: `readings` is empty.
        MalformedReading: a temperature at or below absolute zero.
    """
    if not readings:
        raise NoReadings("mean kinetic temperature needs at least one reading")
    ordered = sorted(readings, key=lambda reading: reading.seq)
    kelvins = [reading.temp_milli_c / 1000 + ZERO_CELSIUS_K for reading in ordered]
    if min(kelvins) <= 0:
        raise MalformedReading("tempMilliC", "a temperature is at or below absolute zero")
    weights = interval_weights([reading.timestamp for reading in ordered])
    activation_k = ACTIVATION_ENERGY_J_PER_MOL / GAS_CONSTANT_J_PER_MOL_K
    exponents = [-activation_k / kelvin for kelvin in kelvins]
    # log-sum-exp: the exponentials alone underflow for very cold readings
    peak = max(exponents)
    total = math.fsum(w * math.exp(x - peak) for w, x in zip(weights, exponents, strict=True))
    log_mean = peak + math.log(total / math.fsum(weights))
    return activation_k / -log_mean - ZERO_CELSIUS_K


def time_out_of_range(readings: Sequence[Reading], rule: Rule) -> int:
    """Seconds one device's readings spent outside [min, max], measured as the rule measures
    excursions: the sum, over each run of consecutive out-of-range readings (in seq order),
    of the time from its first to its last reading."""
    total = 0
    run_start: int | None = None
    last_out = 0
    for reading in sorted(readings, key=lambda reading: reading.seq):
        if rule.min_milli_c <= reading.temp_milli_c <= rule.max_milli_c:
            if run_start is not None:
                total += last_out - run_start
                run_start = None
            continue
        if run_start is None:
            run_start = reading.timestamp
        last_out = reading.timestamp
    if run_start is not None:
        total += last_out - run_start
    return total
