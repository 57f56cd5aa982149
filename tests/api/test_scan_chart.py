"""The scan page's temperature chart: band, excursions, thinning and its text alternative."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from api.scan.chart import Band, Sample, temperature_chart

pytestmark = pytest.mark.unit

SVG = "{http://www.w3.org/2000/svg}"
BAND = Band(2.0, 8.0)
T0 = 1_795_000_000


def readings(temperatures: list[float], step_s: int = 60) -> list[Sample]:
    return [Sample(T0 + i * step_s, t) for i, t in enumerate(temperatures)]


def test_the_band_is_shaded_and_each_excursion_marked():
    chart = temperature_chart(readings([5, 5.5, 9.1, 9.4, 6, 1.5]), band=BAND, title="Lot B")
    svg = ET.fromstring(chart)
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Lot B"
    assert svg.find(f"{SVG}desc").text == (
        "6 readings from 1.5 °C to 9.4 °C; allowed 2–8 °C; 3 outside it."
    )
    (band,) = svg.findall(f"{SVG}rect")
    assert band.get("class") == "band"
    excursions = svg.findall(f"{SVG}circle")
    assert [c.find(f"{SVG}title").text.split(" °C")[0] for c in excursions] == ["9.1", "9.4", "1.5"]
    # Marks above the band's top edge for warm readings, below its bottom for cold ones.
    top = float(band.get("y"))
    bottom = top + float(band.get("height"))
    cys = [float(c.get("cy")) for c in excursions]
    assert cys[0] < top and cys[1] < top and cys[2] > bottom


def test_a_compliant_lot_has_no_excursion_marks():
    svg = ET.fromstring(temperature_chart(readings([4, 5, 6]), band=BAND, title="Lot A"))
    assert svg.findall(f"{SVG}circle") == []
    assert svg.find(f"{SVG}desc").text.endswith("none outside it.")


def test_ten_thousand_readings_are_thinned_but_keep_a_one_reading_excursion():
    temperatures = [5.0] * 10_000
    temperatures[7_321] = 12.5
    chart = temperature_chart(readings(temperatures, step_s=30), band=BAND, title="x")
    points = re.search(r'points="([^"]+)"', chart).group(1).split()
    assert len(points) <= 2 * 588
    (excursion,) = ET.fromstring(chart).findall(f"{SVG}circle")
    assert excursion.find(f"{SVG}title").text.startswith("12.5 °C")


def test_titles_are_escaped_and_no_readings_draw_nothing():
    chart = temperature_chart(readings([5]), band=None, title="<Lot & co>")
    assert "&lt;Lot &amp; co&gt;" in chart
    assert ET.fromstring(chart).find(f"{SVG}desc").text == "1 reading from 5 °C to 5 °C."
    assert temperature_chart([], band=BAND, title="x") == ""
