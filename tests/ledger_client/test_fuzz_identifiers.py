"""Fuzz `DigitalLink.parse`: a Digital Link or `InvalidIdentifier`, whatever the text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_client.identifiers import DigitalLink, InvalidIdentifier
from tests.hostile_json import characters, fuzz

pytestmark = pytest.mark.unit

VALID = [
    "https://id.gs1.org/01/09506000134352/10/LOT-1",
    "/01/09506000134352/21/SN%2F1",
    "urn:epc:class:lgtin:9506000.013435.LOT-1",
    "urn:epc:id:sgtin:9506000.013435.SN-1",
]
PIECES = ["%", "%ZZ", "%ED%A0%80", "%00", "\ud800", "\x00", "/", "?", "٣", "9" * 5_000, "x" * 5_000]


@st.composite
def identifier_texts(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.text(characters, max_size=60))
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        piece = draw(st.one_of(st.sampled_from(PIECES), st.text(characters, max_size=3)))
        cut = draw(st.integers(0, 2))
        text = text[:at] + piece + text[at + cut :]
    return text


@fuzz
@given(identifier_texts())
def test_digital_link_text_is_parsed_or_refused_clearly(text: str):
    try:
        link = DigitalLink.parse(text)
    except InvalidIdentifier as exc:
        assert str(exc).encode("utf-8", "backslashreplace")
        assert len(str(exc)) < 2_000
        return
    assert DigitalLink.parse(link.uri) == link
    assert link.uri.isascii()
