"""Chapters 9-11 of the demo's story: the quality authority acknowledges lot B's excursion
with its own token, the auditor queries lot B, verifies a proof and finds its queries in the
access trail, and the public scan pages say what each lot is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from provenance.demo.cast import AUDITOR, QUALITY
from provenance.demo.client import NodeClient, quoted, wait_until
from provenance.demo.story import Story, hex_id, label


def acknowledge(story: Story) -> None:
    story.chapter("9. The quality authority acknowledges lot B's excursion")
    lot_b = story.record.lots.lot_b
    comment = "Excursion of 40 min at 9.4 °C confirmed; lot held pending stability data."
    written = story.api["quality"].post(
        f"/api/v1/quarantines/{hex_id(lot_b)}/acknowledge", {"comment": comment}
    )

    def acknowledged() -> dict[str, Any] | None:
        """The lot's quarantine once the read model holds the acknowledgement."""
        found = story.api["quality"].get("/api/v1/quarantines", batch=hex_id(lot_b))
        quarantines = found["quarantines"]
        return quarantines[0] if quarantines and quarantines[0]["acknowledgements"] else None

    quarantine = wait_until(acknowledged, "the acknowledgement to be indexed")
    ack = quarantine["acknowledgements"][0]
    story.record.check(
        f"{QUALITY.name} acknowledged lot {lot_b.value}'s excursion with its comment",
        ack["comment"] == comment and ack["by"].lower() == QUALITY.address.lower(),
    )
    story.step(
        f"POST /api/v1/quarantines/…/acknowledge with the quality token: tx "
        f"{written['tx_hash'][:18]}…; on chain by {QUALITY.name}: “{comment}”"
    )


def audit(story: Story) -> None:
    story.chapter("10. The auditor looks into lot B")
    lot_b = story.record.lots.lot_b
    auditor = story.api["auditor"]
    started = datetime.now(UTC) - timedelta(seconds=1)
    found = auditor.get("/api/v1/events", MATCH_anyEPCClass=lot_b.uri)
    listed = found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    story.step(
        f"GET /api/v1/events?MATCH_anyEPCClass=…{lot_b.value}: {len(listed)} events "
        f"({', '.join(e['bizStep'] for e in listed)})"
    )
    trace = auditor.get(f"/api/v1/trace/{hex_id(lot_b)}", direction="forward", depth=5)
    uris = {node["id"]: node["uri"] for node in trace["nodes"]}
    story.step(
        "GET /api/v1/trace/…?direction=forward: "
        + ", ".join(
            f"{e['relation']} into {label(uris.get(e['target']) or e['target'])}"
            for e in trace["edges"]
        )
    )
    proof = auditor.get(f"/api/v1/events/{quoted(listed[0]['eventID'])}/proof")
    story.record.check(
        f"lot {lot_b.value}'s events are queried and the first one's proof verifies",
        len(listed) >= 3 and proof["verified"] is True,
        f"{len(listed)} events",
    )
    story.record.check(
        f"lot {lot_b.value}'s trace shows its pallet",
        any(e["relation"] == "aggregation" for e in trace["edges"]),
    )
    story.step(
        f"proof of {listed[0]['eventID'][:28]}…: verified={proof['verified']} "
        f"(tx {proof['transactionHash'][:18]}…, block {proof['blockNumber']})"
    )
    mine = [
        e
        for e in _trail(auditor)
        if e["organization"] == AUDITOR.did(story.chain_id)
        and datetime.fromisoformat(e["at"]) >= started
    ]
    paths = {e["path"] for e in mine}
    expected = {"/api/v1/events", f"/api/v1/trace/{hex_id(lot_b)}"}
    story.record.check(
        "the auditor finds its own queries in the access trail",
        expected <= paths and any(p.endswith("/proof") for p in paths),
        f"{len(mine)} entries",
    )
    story.step(
        f"GET /api/v1/trail: the auditor's own {len(mine)} requests of this chapter are "
        "there — " + ", ".join(f"{e['method']} {e['path'][:40]}" for e in mine[:3]) + " …"
    )


def _trail(auditor: NodeClient) -> list[dict[str, Any]]:
    """Every entry of the access trail the auditor may read, page by page."""
    entries: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page = auditor.get("/api/v1/trail", after=after, limit=500)
        entries += page["entries"]
        after = page["next_after"]
    return entries


def scan_pages(story: Story) -> None:
    story.chapter("11. What a scan of each lot shows")
    public = NodeClient(story.node.base_url, None)
    for lot, expected in (
        (story.record.lots.lot_a, "ACTIVE"),
        (story.record.lots.lot_b, "QUARANTINED"),
    ):
        status, html = public.page(lot.path)
        story.record.check(
            f"the scan page of lot {lot.value} says {expected}",
            status == 200 and f"Status: {expected}" in html,
            f"HTTP {status}",
        )
        story.step(f"{story.node.base_url}{lot.path}: HTTP {status}, says {expected}")
