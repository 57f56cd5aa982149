"""The access trail's head anchored on a real anvil by the node's organization, and the
trail verified against every anchored head: a trail rewritten or truncated after an anchor
fails, and a failing trail is never anchored."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text

from api.errors import TrailError
from api.store.trail import TrailStore
from api.trail import TrailEntry
from api.trail_anchoring import TrailAnchoring
from ledger_client.access_trail import AccessTrailClient
from ledger_client.errors import ChainRejected

pytestmark = pytest.mark.integration


def _entry(n: int) -> TrailEntry:
    return TrailEntry(
        seq=0,
        at=f"2026-01-01T00:00:{n:02d}.000000Z",
        principal="0123456789abcdef",
        organization="did:pkh:eip155:31337:0x0000000000000000000000000000000000000001",
        role="AUDITOR",
        method="GET",
        path="/api/v1/me",
        query="",
        status=200,
    )


@pytest.fixture
def anchoring(members, api_engine) -> TrailAnchoring:
    consortium = members.consortium
    return TrailAnchoring(
        store=TrailStore(api_engine),
        client=AccessTrailClient(consortium.sender(consortium.operator), consortium.deployment),
        first_block=consortium.deployment.deploy_block,
        chunk_blocks=3,  # several eth_getLogs chunks even on a short chain
    )


def _append(anchoring: TrailAnchoring, *numbers: int) -> None:
    for n in numbers:
        anchoring.store.append(_entry(n))


def test_the_head_is_anchored_and_verified_round_trip(anchoring, members):
    _append(anchoring, 1, 2, 3)
    first = anchoring.anchor_now()
    assert first.entries == 3 and first.tx is not None
    head, count = anchoring.client.latest(members.consortium.operator.address)
    assert (head.hex(), count) == (anchoring.store.head().hash, 3)
    assert anchoring.anchor_now().tx is None, "nothing new: no transaction"
    _append(anchoring, 4, 5)
    assert anchoring.anchor_now().entries == 5
    verdict = anchoring.verify()
    assert verdict.intact and verdict.entries == 5 and verdict.anchors == 2


def test_a_trail_truncated_after_its_anchor_fails_and_is_not_anchored(anchoring, members):
    _append(anchoring, 1, 2, 3, 4)
    anchoring.anchor_now()
    with anchoring.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM access_trail WHERE seq >= 3"))
    verdict = anchoring.verify()
    assert verdict.bad_entry == 3 and "4 were anchored" in (verdict.problem or "")
    _append(anchoring, 5, 6, 7)  # a longer trail again, but not the anchored one
    with pytest.raises(TrailError, match="was not anchored: entry 4 differs from the head"):
        anchoring.anchor_now()
    assert anchoring.client.latest(members.consortium.operator.address)[1] == 4


def test_a_trail_rewritten_consistently_fails_at_the_anchored_entry(anchoring):
    _append(anchoring, 1, 2, 3)
    anchoring.anchor_now()
    entries = list(anchoring.store.entries())
    with anchoring.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM access_trail"))
    anchoring.store.append(entries[0].entry)
    forged = replace(entries[1].entry, status=500)
    anchoring.store.append(forged)
    anchoring.store.append(entries[2].entry)
    verdict = anchoring.verify()
    assert verdict.bad_entry == 3 and "rewritten" in (verdict.problem or "")


def test_only_an_active_member_anchors(members):
    consortium = members.consortium
    outsider = AccessTrailClient(consortium.sender(consortium.outsider), consortium.deployment)
    with pytest.raises(ChainRejected, match="AccessTrailUnauthorizedAccount"):
        outsider.anchor(b"\x01" * 32, 1)
    consortium.membership().set_organization_active(consortium.operator.address, False)
    operator = AccessTrailClient(consortium.sender(consortium.operator), consortium.deployment)
    with pytest.raises(ChainRejected, match="no active organization holding a role"):
        operator.anchor(b"\x01" * 32, 1)
