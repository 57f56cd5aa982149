"""A lot's temperatures as an inline SVG chart: the allowed band shaded, readings outside
it drawn as excursions, with a text alternative that says the same in words.

Pure: readings in, markup out; no scripts, so the page stays static and works offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

WIDTH, HEIGHT = 640, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 8, 10, 26
# Beyond this many points a line is thinned to one point per horizontal pixel (min and max
# kept), so a 10,000-reading lot draws as fast and looks the same.
_MAX_POINTS = 2 * (WIDTH - _LEFT - _RIGHT)


@dataclass(frozen=True)
class Sample:
    at: int  # Unix seconds
    celsius: float


@dataclass(frozen=True)
class Band:
    low: float
    high: float

    def holds(self, celsius: float) -> bool:
        return self.low <= celsius <= self.high


def temperature_chart(samples: Sequence[Sample], *, band: Band | None, title: str) -> str:
    """The SVG of `samples` (in time order) with `band` shaded; empty text when none."""
    if not samples:
        return ""
    points = _thinned(samples)
    low = min(min(s.celsius for s in points), band.low if band else float("inf"))
    high = max(max(s.celsius for s in points), band.high if band else float("-inf"))
    span = max(high - low, 1.0)
    low, high = low - span * 0.1, high + span * 0.1
    start, end = points[0].at, max(points[-1].at, points[0].at + 1)

    def x(at: int) -> float:
        return _LEFT + (at - start) / (end - start) * (WIDTH - _LEFT - _RIGHT)

    def y(celsius: float) -> float:
        return _TOP + (high - celsius) / (high - low) * (HEIGHT - _TOP - _BOTTOM)

    excursions = [s for s in points if band is not None and not band.holds(s.celsius)]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="chart-title chart-desc" class="chart">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(_describe(samples, band))}</desc>',
    ]
    if band is not None:
        parts.append(
            f'<rect class="band" x="{_LEFT}" y="{y(band.high):.1f}" '
            f'width="{WIDTH - _LEFT - _RIGHT}" height="{y(band.low) - y(band.high):.1f}" '
            'fill="#d8efe0"><title>allowed band</title></rect>'
        )
        for limit in (band.low, band.high):
            parts.append(
                f'<text x="{_LEFT - 4}" y="{y(limit) + 4:.1f}" text-anchor="end" '
                f'font-size="11">{limit:g}°</text>'
            )
    line = " ".join(f"{x(s.at):.1f},{y(s.celsius):.1f}" for s in points)
    parts.append(f'<polyline points="{line}" fill="none" stroke="#1d4f91" stroke-width="1.5"/>')
    parts.extend(
        f'<circle class="excursion" cx="{x(s.at):.1f}" cy="{y(s.celsius):.1f}" r="3" '
        f'fill="#b3261e"><title>{s.celsius:g} °C at {_when(s.at)}</title></circle>'
        for s in excursions
    )
    parts.append(
        f'<text x="{_LEFT}" y="{HEIGHT - 8}" font-size="11">{_when(start)}</text>'
        f'<text x="{WIDTH - _RIGHT}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">'
        f"{_when(points[-1].at)}</text></svg>"
    )
    return "".join(parts)


def _describe(samples: Sequence[Sample], band: Band | None) -> str:
    temperatures = [s.celsius for s in samples]
    count = f"{len(samples)} reading" + ("s" if len(samples) != 1 else "")
    text = f"{count} from {min(temperatures):g} °C to {max(temperatures):g} °C"
    if band is None:
        return text + "."
    outside = sum(1 for t in temperatures if not band.holds(t))
    return text + (
        f"; allowed {band.low:g}–{band.high:g} °C; "
        + (f"{outside} outside it." if outside else "none outside it.")
    )


def _thinned(samples: Sequence[Sample]) -> list[Sample]:
    """At most `_MAX_POINTS` samples: each slice's coldest and warmest, in time order, so an
    excursion never disappears from the drawing."""
    if len(samples) <= _MAX_POINTS:
        return list(samples)
    size = len(samples) / (_MAX_POINTS // 2)
    kept: list[Sample] = []
    for i in range(_MAX_POINTS // 2):
        chunk = samples[int(i * size) : int((i + 1) * size)]
        if chunk:
            extremes = {min(chunk, key=lambda s: s.celsius), max(chunk, key=lambda s: s.celsius)}
            kept.extend(sorted(extremes, key=lambda s: s.at))
    return kept


def _when(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M")
