"""Two captures side by side on the dev chain: the one whose prefix the other had the
governor assign meanwhile goes on, instead of refusing its own organization's prefix
(bench/api.py's 16 concurrent captures failed on it)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ledger_client.capture import Capturer, CaptureRefused
from ledger_client.epcis.capture_plan import CapturePlan, PlannedEvent
from ledger_client.identifiers import DigitalLink
from ledger_client.lifecycle import BatchKind, BatchStatus, EventKind

ME = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
OTHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ITEM = DigitalLink.item("09506000134352", "SN-1")


class _Writer:
    """A ledger whose prefix, unowned when this capture looked, is owned by `owner` now."""

    def __init__(self, owner: str) -> None:
        self.sender = SimpleNamespace(account=SimpleNamespace(address=ME))
        self.w3 = SimpleNamespace(eth=SimpleNamespace(chain_id=31337))
        self.owner = owner
        self.created: list[Any] = []
        self.filed: list[Any] = []
        self.assigned: list[tuple[str, str]] = []

    def batch_read(self, batch_id: bytes) -> str:
        return "batch " + batch_id.hex()

    def is_prefix_holder(self, gtin: str, account: str) -> bool:
        return False  # as read before the other capture's assignment was mined

    def prefix_owner(self, prefix: str) -> str | None:
        return self.owner.lower() if prefix == ITEM.gtin[1:13] else None

    def create_batches(self, batches: list[Any]) -> list[bytes]:
        self.created += batches
        return []

    def record_filed_events(self, events: list[Any]) -> str:
        self.filed += events
        return "anchored"

    def assign_prefix(self, prefix: str, account: str) -> None:
        self.assigned.append((prefix, account))


class _Reads:
    """Every batch read answers: no such batch yet."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, read: str) -> int:
        self.count += 1
        return self.count - 1

    def run(self, w3: object) -> list[SimpleNamespace]:
        return [SimpleNamespace(status=BatchStatus.NONE)] * self.count


@pytest.fixture(autouse=True)
def _no_chain_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ledger_client.capture.ReadBatch", _Reads)


def _plan() -> CapturePlan:
    event = PlannedEvent("urn:uuid:1", False, EventKind.OTHER, b'{"type":"ObjectEvent"}', (ITEM,))
    return CapturePlan(events=(event,))


def test_a_prefix_assigned_to_this_organization_meanwhile_is_used() -> None:
    writer, governor = _Writer(owner=ME), _Writer(owner=ME)
    captured = Capturer(writer, prefix_governor=governor).capture(_plan())  # type: ignore[arg-type]

    assert governor.assigned == []
    assert writer.created == [(ITEM.uri, BatchKind.ITEM, ITEM.product_class)]
    assert len(writer.filed) == 1
    assert captured.event_ids == ("urn:uuid:1",)


def test_a_prefix_another_member_owns_is_still_refused() -> None:
    writer, governor = _Writer(owner=OTHER), _Writer(owner=OTHER)
    capturer = Capturer(writer, prefix_governor=governor)  # type: ignore[arg-type]

    with pytest.raises(CaptureRefused, match=f"belongs to {OTHER.lower()}"):
        capturer.capture(_plan())
    assert (governor.assigned, writer.created, writer.filed) == ([], [], [])
