"""`provenance trail …`: the API's access trail checked against, and anchored on, the chain
with the organization's key (PROVENANCE_PRIVATE_KEY)."""

from __future__ import annotations

import typer

from ledger_client.terminal import clear_errors, console, fail

trail_app = typer.Typer(help="The API's tamper-evident access trail.", no_args_is_help=True)


@trail_app.command("verify")
@clear_errors
def trail_verify() -> None:
    """Recompute the trail's hash chain and compare it with every head anchored on chain;
    exit 1 naming the first bad entry."""
    from api.config import ApiSettings
    from provenance.node import trail_anchoring

    verdict = trail_anchoring(ApiSettings()).verify()
    if not verdict.intact:
        fail(f"the access trail fails verification: {verdict.problem}")
    console.print(
        f"access trail intact: {verdict.entries:,} entries, {verdict.anchors} anchored heads match"
    )


@trail_app.command("anchor")
@clear_errors
def trail_anchor() -> None:
    """Anchor the trail's current head on chain now (after verifying it)."""
    from api.config import ApiSettings
    from provenance.node import trail_anchoring

    outcome = trail_anchoring(ApiSettings()).anchor_now()
    if outcome.tx is None:
        console.print(f"nothing new to anchor: {outcome.entries:,} entries are anchored already")
        return
    console.print(f"anchored {outcome.entries:,} entries, head {outcome.head} (tx {outcome.tx})")
