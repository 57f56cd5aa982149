"""`provenance lot acknowledge` and `provenance lot release`: quality closing a quarantine.

Signed with PROVENANCE_PRIVATE_KEY, an organization holding QUALITY. A quarantine the
cold-chain rule made is released only after quality acknowledged its excursion; a release
always says why. Blank comments and reasons are refused here, before anything is sent.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger_client.errors import ConfigurationError
from ledger_client.terminal import clear_errors
from provenance.cli.consortium import (
    JsonOption,
    LotArgument,
    lot_of,
    organization_sender,
    print_json,
    print_rows,
)

CommentOption = Annotated[
    str, typer.Option(help="What quality found about the excursion; recorded on chain")
]
ReasonOption = Annotated[str, typer.Option(help="Why the lot may ship again; recorded on chain")]


@clear_errors
def acknowledge(lot: LotArgument, comment: CommentOption, json_output: JsonOption = False) -> None:
    """Acknowledge the excursion behind the lot's cold-chain quarantine, which lets it be
    released.

    Example:

    \b
      provenance lot acknowledge https://id.gs1.org/01/09506000134352/10/LOT-A \\
          --comment "logger left in the sun at the dock; stability data covers it"
    """
    from ledger_client.ledger import LedgerWriter

    named, comment = lot_of(lot), _said(comment, "--comment")
    sender, deployment = organization_sender()
    receipt = LedgerWriter(sender, deployment).acknowledge_excursion(named.batch_id, comment)
    if json_output:
        print_json(
            {"lot": named.uri, "batchId": named.batch_hex, "acknowledged": comment},
            receipt,
        )
        return
    print_rows([("lot", str(named)), ("acknowledged", comment)], receipt)


@clear_errors
def release(lot: LotArgument, reason: ReasonOption, json_output: JsonOption = False) -> None:
    """Release a quarantined or recalled lot (a cold-chain quarantine once acknowledged).

    Example:

    \b
      provenance lot release https://id.gs1.org/01/09506000134352/10/LOT-A \\
          --reason "inspected and within the stability budget"
    """
    from ledger_client.ledger import LedgerWriter

    named, reason = lot_of(lot), _said(reason, "--reason")
    sender, deployment = organization_sender()
    ledger = LedgerWriter(sender, deployment)
    receipt = ledger.release(named.batch_id, reason)
    status = ledger.batch(named.batch_id).status.name
    if json_output:
        print_json(
            {"lot": named.uri, "batchId": named.batch_hex, "status": status, "reason": reason},
            receipt,
        )
        return
    print_rows([("lot", str(named)), ("status", status), ("reason", reason)], receipt)


def _said(text: str, option: str) -> str:
    if not text.strip():
        raise ConfigurationError(f"{option} is blank: say it; it is recorded on chain")
    return text.strip()
