"""How the demo's story ends: a summary table of its lots read back through the API, the scan
URLs, lot A's QR code in the terminal, where the dev tokens are, and the self-check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from api.resolver.qr import qr_text
from ledger_client.identifiers import DigitalLink
from provenance.demo.story import Check, Story


@dataclass(frozen=True)
class LotFigures:
    lot: DigitalLink
    status: str
    mkt_c: float | None
    events: int
    readings: int
    credentials: int
    transactions: int
    gas: int


def lot_figures(story: Story, lot: DigitalLink) -> LotFigures:
    """What the node says of `lot` (auditor's token), its transactions' gas from the chain:
    the events', status changes', readings' anchors' and its credentials' anchors."""
    auditor = story.api["auditor"]
    batch = auditor.get(f"/api/v1/batches/0x{lot.batch_id.hex()}")
    readings = auditor.get(f"/api/v1/batches/0x{lot.batch_id.hex()}/readings", limit=1000)
    transactions = {event["tx"] for event in batch["events"]}
    transactions |= {change["tx"] for change in batch["statusHistory"]}
    transactions |= {r["anchorTx"] for r in readings["readings"] if r["anchorTx"]}
    credentials: list[dict[str, Any]] = []
    did = story.record.asset_dids.get(lot.value)
    if did is not None:
        credentials = auditor.get("/api/v1/credentials", subject=did)
        for credential in credentials:
            anchor = story.node.credential_store.anchor_tx(
                bytes.fromhex(credential["credential_hash"][2:])
            )
            if anchor:
                transactions.add(anchor)
    gas = sum(story.w3.eth.get_transaction_receipt(tx)["gasUsed"] for tx in transactions)
    summaries = batch["readings"] or []
    return LotFigures(
        lot=lot,
        status=batch["status"],
        mkt_c=max((d["meanKineticC"] for d in summaries), default=None),
        events=len(batch["events"]),
        readings=sum(d["readings"] for d in summaries),
        credentials=len(credentials),
        transactions=len(transactions),
        gas=gas,
    )


def story_totals(story: Story) -> tuple[int, int, int]:
    """(blocks, transactions, gas) of every block mined since the story began."""
    first, last = story.record.first_block + 1, story.w3.eth.block_number
    transactions = gas = 0
    for number in range(first, last + 1):
        block = story.w3.eth.get_block(number)
        transactions += len(block["transactions"])
        gas += block["gasUsed"]
    return last - first + 1, transactions, gas


def summary_table(story: Story) -> Table:
    table = Table(
        title=f"Run {story.record.lots.run}: the lots on the ledger, as the API shows them"
    )
    for column in ("lot", "status", "MKT", "events", "readings", "credentials", "txs", "gas"):
        table.add_column(column, justify="left" if column in ("lot", "status") else "right")
    for lot in story.record.lots.all:
        f = lot_figures(story, lot)
        style = {"QUARANTINED": "bold red", "ACTIVE": "green"}.get(f.status, "")
        table.add_row(
            lot.value,
            f"[{style}]{f.status}[/{style}]" if style else f.status,
            "—" if f.mkt_c is None else f"{f.mkt_c:.2f} °C",
            str(f.events),
            str(f.readings),
            str(f.credentials),
            str(f.transactions),
            f"{f.gas:,}",
        )
    blocks, transactions, gas = story_totals(story)
    table.add_section()
    table.add_row(
        f"whole story ({blocks} blocks)", "", "", "", "", "", str(transactions), f"{gas:,}"
    )
    return table


def checks_table(checks: list[Check]) -> Table:
    table = Table(title="Self-check", show_header=False)
    table.add_column("")
    table.add_column("outcome")
    for check in checks:
        mark = "[green]✓[/green]" if check.passed else "[red]✗ FAILED[/red]"
        detail = "" if check.passed or not check.detail else f" — {check.detail}"
        table.add_row(mark, check.what + detail)
    return table


def tell_ending(story: Story, console: Console, *, public_base_url: str) -> None:
    """The summary, the scan URLs, lot A's QR code and the dev tokens' file."""
    lots = story.record.lots
    console.print(summary_table(story))
    console.print("Scan pages (open them in a browser):", style="bold")
    for lot in lots.all:
        console.print(f"  {story.node.base_url}{lot.path}", highlight=False, soft_wrap=True)
    console.print(f"QR code of lot {lots.lot_a.value}:", style="bold")
    console.print(qr_text(public_base_url + lots.lot_a.path), highlight=False, markup=False)
    tokens = story.node.state_dir / "dev-tokens.json"
    console.print(
        f"API tokens (operator, quality, auditor): {tokens}\n"
        f'  e.g. curl -H "Authorization: Bearer $(jq -r .auditor {tokens})" '
        f"{story.node.base_url}/api/v1/quarantines",
        highlight=False,
        soft_wrap=True,
    )
