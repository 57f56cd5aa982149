"""Mean kinetic temperature (USP <1079>) and time out of range."""

from __future__ import annotations

from decimal import Decimal, getcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oracle_bridge.errors import MalformedReading, NoReadings
from oracle_bridge.mkt import interval_weights, mean_kinetic_temperature, time_out_of_range
from tests.oracle_bridge.bridge_factories import RULE, T0, reading

pytestmark = pytest.mark.unit

WEEK = 7 * 24 * 3600


def reference_mkt(temps_c: list[float], weights: list[int]) -> Decimal:
    """USP <1079> written out in 50-digit decimal arithmetic, independently of `mkt`."""
    getcontext().prec = 50
    activation = Decimal("83144") / Decimal("8.3144621")
    kelvins = [Decimal(str(t)) + Decimal("273.15") for t in temps_c]
    total = sum(Decimal(w) * (-activation / k).exp() for w, k in zip(weights, kelvins, strict=True))
    mean = total / sum(Decimal(w) for w in weights)
    return activation / -mean.ln() - Decimal("273.15")


def series(temps_c: list[float], interval: int = 3600) -> list:
    return [reading(i + 1, T0 + i * interval, round(t * 1000)) for i, t in enumerate(temps_c)]


def test_usp_example_constant_weekly_averages() -> None:
    """USP's first worked example: 52 weekly averages all at 25 °C give an MKT of 25.0 °C."""
    assert mean_kinetic_temperature(series([25.0] * 52, WEEK)) == pytest.approx(25.0, abs=1e-9)


def test_worked_example_of_varying_weekly_averages() -> None:
    """A year of weekly averages swinging between 15 and 30 °C (the USP <1160> situation)."""
    temps = [15 + (i % 16) for i in range(52)]
    expected = reference_mkt(temps, [1] * 52)
    assert mean_kinetic_temperature(series(temps, WEEK)) == pytest.approx(float(expected), abs=1e-9)
    # MKT weighs warm periods more than the arithmetic mean does
    assert float(expected) > sum(temps) / len(temps)


def test_two_equal_halves_at_20_and_30_degrees() -> None:
    result = mean_kinetic_temperature(series([20.0, 30.0]))
    assert result == pytest.approx(float(reference_mkt([20.0, 30.0], [1, 1])), abs=1e-9)
    # by hand: ΔH/R ≈ 10,000 K; ln((e^-34.112 + e^-32.987) / 2) = -33.399; 10,000 / 33.399 K
    assert result == pytest.approx(26.26, abs=0.01)


def test_readings_are_weighted_by_the_time_they_stand_for() -> None:
    hourly = series([5.0] * 23 + [25.0, 5.0])
    sparse = [
        reading(1, T0, 5000),
        reading(2, T0 + 23 * 3600, 25000),
        reading(3, T0 + 24 * 3600, 5000),
    ]
    assert mean_kinetic_temperature(sparse) == pytest.approx(
        mean_kinetic_temperature(hourly), abs=1e-9
    )
    assert mean_kinetic_temperature(sparse) == pytest.approx(
        float(reference_mkt([5.0, 25.0, 5.0], [23, 1, 1])), abs=1e-9
    )


def test_interval_weights() -> None:
    assert interval_weights([]) == []
    assert interval_weights([T0]) == [1]
    assert interval_weights([T0, T0, T0]) == [1, 1, 1]
    assert interval_weights([0, 10, 30]) == [10, 20, 20]
    assert interval_weights([0, 60, 120, 180]) == [60, 60, 60, 60]


@given(st.lists(st.integers(-40_000, 60_000), min_size=1, max_size=60))
def test_mkt_lies_between_the_mean_and_the_maximum(temps_milli_c: list[int]) -> None:
    result = mean_kinetic_temperature(
        [reading(i + 1, T0 + 60 * i, t) for i, t in enumerate(temps_milli_c)]
    )
    mean = sum(temps_milli_c) / len(temps_milli_c) / 1000
    assert mean - 1e-6 <= result <= max(temps_milli_c) / 1000 + 1e-6


@given(st.integers(-270_000, 200_000), st.integers(1, 30))
def test_constant_temperature_is_its_own_mkt(temp_milli_c: int, count: int) -> None:
    readings = [reading(i + 1, T0 + 300 * i, temp_milli_c) for i in range(count)]
    assert mean_kinetic_temperature(readings) == pytest.approx(temp_milli_c / 1000, abs=1e-6)


def test_order_of_the_readings_given_does_not_matter() -> None:
    readings = series([4.0, 9.0, 2.5, 7.0])
    assert mean_kinetic_temperature(readings[::-1]) == mean_kinetic_temperature(readings)


def test_mkt_needs_readings_above_absolute_zero() -> None:
    with pytest.raises(NoReadings):
        mean_kinetic_temperature([])
    with pytest.raises(MalformedReading):
        mean_kinetic_temperature([reading(1, T0, -273_150)])


def test_very_cold_readings_do_not_underflow() -> None:
    assert mean_kinetic_temperature([reading(1, T0, -273_000)]) == pytest.approx(-273.0)


def test_time_out_of_range_matches_the_rules_excursion_length() -> None:
    readings = [
        reading(1, T0, 5000),
        reading(2, T0 + 100, 9000),  # excursion 1: 100..700
        reading(3, T0 + 400, 1000),
        reading(4, T0 + 700, 8500),
        reading(5, T0 + 800, 8000),  # max is in range
        reading(6, T0 + 900, 30000),  # a lone reading: 0 s, as the rule measures it
        reading(7, T0 + 1000, 2000),
        reading(8, T0 + 1100, -100),  # excursion 3: 1100..1300, still open
        reading(9, T0 + 1300, -200),
    ]
    assert time_out_of_range(readings, RULE) == 600 + 0 + 200
    assert time_out_of_range(readings[::-1], RULE) == 800
    assert time_out_of_range([], RULE) == 0
