"""Verifying: `credential verify`, every check of the report as a table or JSON."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from credentials.cli.environment import connect_chain, load_settings
from credentials.cli.inputs import JsonOption, json_file
from credentials.cli.output import hex_of, print_json
from credentials.errors import InvalidCredential
from ledger_client.terminal import clear_errors, console

_OUTCOME_STYLE = {"passed": "green", "failed": "red", "not_checked": "yellow"}


@clear_errors
def verify(
    credential: Annotated[Path, typer.Argument(metavar="FILE", help="A signed credential (JSON)")],
    json_output: JsonOption = False,
) -> None:
    """Verify a credential fully; exit status 1 unless every check passes.

    Offline: its proof, schema and expiry; on chain: its anchor, revocation, suspension,
    the issuer's trust and the subject's binding.

    Example:

    \b
      provenance credential verify calibration.vc.json --json
    """
    from credentials.issue import credential_hash
    from credentials.verify import CredentialVerifier
    from ledger_client.epcis.canonical import CanonicalizationError

    vc = json_file(credential, InvalidCredential, what="credential")
    settings = load_settings()
    w3, deployment = connect_chain(settings)
    verifier = CredentialVerifier(w3, deployment, log_chunk_blocks=settings.ledger.log_chunk_blocks)
    report = verifier.verify(vc)
    try:
        digest: str | None = hex_of(credential_hash(vc)) if isinstance(vc, Mapping) else None
    except CanonicalizationError:
        digest = None
    if json_output:
        print_json({"credentialHash": digest, **report.to_json()})
    else:
        table = Table(title=Text(f"{credential}" + (f" ({digest})" if digest else "")))
        for column in ("check", "outcome", "detail"):
            table.add_column(column, overflow="fold")
        for check in report.checks:
            outcome = check.outcome.value
            table.add_row(
                check.name.value, Text(outcome, style=_OUTCOME_STYLE[outcome]), Text(check.detail)
            )
        console.print(table)
        failed = [c.name.value for c in report.checks if c.outcome.value != "passed"]
        if report.valid:
            console.print("[bold green]valid[/bold green]: every check passed")
        else:
            console.print(f"[bold red]not valid[/bold red]: {', '.join(failed)} did not pass")
    if not report.valid:
        raise typer.Exit(1)
