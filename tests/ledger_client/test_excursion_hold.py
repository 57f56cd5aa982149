"""A rule's quarantine is released only after quality acknowledges it (real anvil)."""

from __future__ import annotations

import pytest

from ledger_client.errors import ContractRevert
from ledger_client.ledger import BatchStatus
from ledger_client.lifecycle import ExcursionHold
from tests.factories import quarantine_by_rule

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/EXC-1"


def test_a_rule_quarantine_is_released_after_an_acknowledgement(consortium):
    lot = quarantine_by_rule(consortium, LOT)
    quality = consortium.writer(consortium.quality)
    assert quality.batch(lot).status is BatchStatus.QUARANTINED
    assert quality.excursion_hold(lot) is ExcursionHold.UNACKNOWLEDGED

    with pytest.raises(ContractRevert) as refused:
        quality.release(lot, "lab cleared")
    assert refused.value.error == "ProvenanceLedgerExcursionNotAcknowledged"
    assert refused.value.error_args["batchId"] == "0x" + lot.hex()
    assert quality.batch(lot).status is BatchStatus.QUARANTINED

    quality.acknowledge_excursion(lot, "logger fault, product within range")
    assert quality.excursion_hold(lot) is ExcursionHold.ACKNOWLEDGED
    quality.release(lot, "lab cleared")
    assert quality.batch(lot).status is BatchStatus.RELEASED
    assert quality.excursion_hold(lot) is ExcursionHold.NONE


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda w, lot: w.acknowledge_excursion(lot, ""), "ProvenanceLedgerEmptyComment"),
        (lambda w, lot: w.release(lot, ""), "ProvenanceLedgerEmptyReason"),
    ],
    ids=["empty comment", "empty reason"],
)
def test_an_empty_comment_or_reason_is_refused_and_changes_nothing(consortium, call, error):
    lot = quarantine_by_rule(consortium, LOT)
    quality = consortium.writer(consortium.quality)
    with pytest.raises(ContractRevert) as refused:
        call(quality, lot)
    assert refused.value.error == error
    assert quality.batch(lot).status is BatchStatus.QUARANTINED
    assert quality.excursion_hold(lot) is ExcursionHold.UNACKNOWLEDGED


def test_a_quarantine_by_a_person_needs_no_acknowledgement_and_takes_none(consortium):
    lot = consortium.writer().create_batch(LOT)
    quality = consortium.writer(consortium.quality)
    quality.quarantine(lot, "carton crushed")
    assert quality.excursion_hold(lot) is ExcursionHold.NONE
    with pytest.raises(ContractRevert) as refused:
        quality.acknowledge_excursion(lot, "seen")
    assert refused.value.error == "ProvenanceLedgerNoExcursion"
    assert refused.value.error_args["status"] == "QUARANTINED"
    quality.release(lot, "repacked")
    assert quality.batch(lot).status is BatchStatus.RELEASED


def test_only_quality_acknowledges(consortium):
    lot = quarantine_by_rule(consortium, LOT)
    with pytest.raises(ContractRevert) as refused:
        consortium.writer(consortium.operator).acknowledge_excursion(lot, "seen")
    assert refused.value.error == "MembershipUnauthorizedAccount"
    assert refused.value.error_args["role"] == "QUALITY_ROLE"
    assert consortium.writer().excursion_hold(lot) is ExcursionHold.UNACKNOWLEDGED
