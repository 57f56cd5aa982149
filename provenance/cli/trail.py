"""`provenance trail …`: the API's access trail checked against, and anchored on, the chain
with the organization's key (PROVENANCE_PRIVATE_KEY)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ledger_client.terminal import clear_errors, console, fail

trail_app = typer.Typer(help="The API's tamper-evident access trail.", no_args_is_help=True)


@trail_app.command("verify")
@clear_errors
def trail_verify(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document: intact, entries, anchors")
    ] = False,
) -> None:
    """Recompute the trail's hash chain and compare it with every head anchored on chain;
    exit 1 naming the first bad entry.

    Example:

    \b
      provenance trail verify --json
    """
    from api.config import ApiSettings
    from provenance.node import trail_anchoring

    verdict = trail_anchoring(ApiSettings()).verify()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "intact": verdict.intact,
                    "entries": verdict.entries,
                    "anchors": verdict.anchors,
                    "problem": verdict.problem,
                },
                indent=2,
            )
        )
    if not verdict.intact:
        fail(f"the access trail fails verification: {verdict.problem}")
    if not as_json:
        console.print(
            f"access trail intact: {verdict.entries:,} entries, "
            f"{verdict.anchors} anchored heads match"
        )


@trail_app.command("anchor")
@clear_errors
def trail_anchor(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document: entries, head, tx")
    ] = False,
) -> None:
    """Anchor the trail's current head on chain now (after verifying it).

    Example:

    \b
      provenance trail anchor
    """
    from api.config import ApiSettings
    from provenance.node import trail_anchoring

    outcome = trail_anchoring(ApiSettings()).anchor_now()
    if as_json:
        document = {"entries": outcome.entries, "head": outcome.head, "tx": outcome.tx}
        typer.echo(json.dumps(document, indent=2))
        return
    if outcome.tx is None:
        console.print(f"nothing new to anchor: {outcome.entries:,} entries are anchored already")
        return
    console.print(f"anchored {outcome.entries:,} entries, head {outcome.head} (tx {outcome.tx})")
