"""EventKind of EPCIS events, from the CBV business step in any of its spellings."""

from __future__ import annotations

import pytest

from ledger_client.epcis.kinds import EventKind, biz_step_name, kind_of, kind_of_biz_step
from ledger_client.epcis.schema import CBV_BIZ_STEPS

pytestmark = pytest.mark.unit


def test_values_mirror_the_solidity_enum() -> None:
    assert [(k.name, k.value) for k in EventKind] == [
        ("OTHER", 0),
        ("INSPECTION", 1),
        ("DESTRUCTION", 2),
    ]


@pytest.mark.parametrize(
    "prefix", ["", "https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:"]
)
@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("inspecting", EventKind.INSPECTION),
        ("sampling", EventKind.INSPECTION),
        ("destroying", EventKind.DESTRUCTION),
        ("shipping", EventKind.OTHER),
        ("decommissioning", EventKind.OTHER),
    ],
)
def test_kind_of_every_spelling(prefix: str, name: str, kind: EventKind) -> None:
    assert kind_of_biz_step(prefix + name) is kind
    assert kind_of({"type": "ObjectEvent", "bizStep": prefix + name}) is kind
    assert biz_step_name(prefix + name) == name


def test_only_three_cbv_steps_have_a_special_kind() -> None:
    special = {name for name in CBV_BIZ_STEPS if kind_of_biz_step(name) is not EventKind.OTHER}
    assert special == {"inspecting", "sampling", "destroying"}


@pytest.mark.parametrize(
    "biz_step",
    [
        None,
        3,
        "",
        "Inspecting",
        "https://example.com/steps/inspecting",
        "urn:epcglobal:cbv:disp:destroyed",
    ],
)
def test_anything_else_is_other(biz_step: object) -> None:
    assert kind_of_biz_step(biz_step) is EventKind.OTHER  # type: ignore[arg-type]


def test_event_without_biz_step_is_other() -> None:
    assert kind_of({"type": "ObjectEvent"}) is EventKind.OTHER


def test_company_vocabulary_names_are_returned_unchanged() -> None:
    assert biz_step_name("https://example.com/steps/calibrating") == (
        "https://example.com/steps/calibrating"
    )
