"""The record of a scanned lot or item: its status, the steps of its life (what, when, which
organization) and where it came from and went, as the scan page and the resolver's JSON show
it; each step's event record (the anchored payload) only to those shown details.

Pure: built from the read model's `BatchHistory` and the organizations by account.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger_client.hashing import keccak256
from ledger_client.indexer.queries import BatchHistory, OrganizationState


@dataclass(frozen=True)
class Party:
    name: str
    did: str


@dataclass(frozen=True)
class Step:
    """One anchored event of the lot's life; `tx_hash` and `log_index` say where on chain.
    `matches_ledger`: the payload the read model holds hashes to the hash the chain logged
    (False when it was altered since, or could not be read from the chain)."""

    what: str
    kind: str
    when: datetime | None
    by: Party | None
    event_index: int
    tx_hash: str
    block_number: int
    log_index: int
    matches_ledger: bool = True
    # The anchored EPCIS event as the read model holds it (JSON text): a detail.
    payload: str | None = None


@dataclass(frozen=True)
class StatusMove:
    status: str
    reason: str
    by: Party | None
    block_number: int


@dataclass(frozen=True)
class ScanRecord:
    uri: str
    kind: str
    status: str
    batch_id: str = ""
    # The DIDs bound to the lot: the credentials about it name one of them.
    subjects: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    status_moves: list[StatusMove] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)

    @property
    def last_move(self) -> StatusMove | None:
        return self.status_moves[-1] if self.status_moves else None


def scan_record(
    history: BatchHistory,
    *,
    organizations: Mapping[str, OrganizationState],
    uris: Mapping[str, str],
    subjects: list[str] | None = None,
) -> ScanRecord:
    """The public record of `history`; `organizations` by checksummed account, `uris` the
    Digital Links of the parents and children by batch id (ids without one are shown as is)."""

    def party(account: str) -> Party | None:
        organization = organizations.get(account)
        return Party(organization.name, organization.did) if organization else None

    return ScanRecord(
        uri=history.batch.uri,
        kind=history.batch.kind,
        status=history.status,
        batch_id=history.batch.batch_id,
        subjects=subjects or [],
        steps=[
            Step(
                what=_what(event.biz_step, event.event_type, event.kind),
                kind=event.kind,
                when=event.event_time,
                by=party(event.recorder),
                event_index=event.event_index,
                tx_hash=event.tx_hash,
                block_number=event.block_number,
                log_index=event.log_index,
                matches_ledger=_matches_ledger(event.payload, event.payload_hash),
                payload=event.payload,
            )
            for event in history.events
        ],
        status_moves=[
            StatusMove(
                change.to_status, change.reason, party(change.changed_by), change.block_number
            )
            for change in history.status_changes
        ],
        parents=[uris.get(batch_id, batch_id) for batch_id in history.parents],
        children=[uris.get(batch_id, batch_id) for batch_id in history.children],
    )


def record_json(record: ScanRecord, *, details: bool = False) -> dict[str, Any]:
    """The record as the resolver answers `Accept: application/json`; with `details`, each
    step carries its event record (`event`, the anchored EPCIS event)."""
    return {
        "id": record.uri,
        "kind": record.kind.lower(),
        "recorded": True,
        "status": record.status,
        "statusHistory": [
            {
                "status": move.status,
                "reason": move.reason,
                "by": _party_json(move.by),
                "block": move.block_number,
            }
            for move in record.status_moves
        ],
        "steps": [
            {
                "what": step.what,
                "kind": step.kind,
                "when": step.when.isoformat() if step.when else None,
                "by": _party_json(step.by),
                "transaction": step.tx_hash,
                "block": step.block_number,
                "logIndex": step.log_index,
                "matchesLedger": step.matches_ledger,
                **({"event": event_record(step)} if details else {}),
            }
            for step in record.steps
        ],
        "parents": record.parents,
        "children": record.children,
    }


def product_json(gtin_uri: str, *, lots: list[str], scanned: str | None) -> dict[str, Any]:
    """A product's answer: its recorded lots and items, and when a scanned lot or serial is
    not among them, that it is not recorded."""
    answer: dict[str, Any] = {"id": gtin_uri, "kind": "product", "recorded": True, "lots": lots}
    if scanned is not None:
        answer["scanned"] = {"id": scanned, "recorded": False}
    return answer


def event_record(step: Step) -> Any:
    """The step's anchored event as JSON; None when the read model holds no payload, its text
    when that is not JSON."""
    if step.payload is None:
        return None
    try:
        return json.loads(step.payload)
    except ValueError:
        return step.payload


def _matches_ledger(payload: str | None, payload_hash: str) -> bool:
    return payload is not None and "0x" + keccak256(payload.encode()).hex() == payload_hash


def _what(biz_step: str | None, event_type: str | None, kind: str) -> str:
    """The step in words: its business step (`shipping`), else its event type."""
    if biz_step:
        return biz_step.rsplit("/", 1)[-1].rsplit(":", 1)[-1].replace("_", " ")
    return event_type or kind.lower()


def _party_json(party: Party | None) -> dict[str, str] | None:
    return {"name": party.name, "did": party.did} if party else None
