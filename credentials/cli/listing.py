"""Listing the credential store: `credential list`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from credentials.cli.environment import load_settings, open_store
from credentials.cli.inputs import JsonOption
from credentials.cli.output import abbreviated, hex_of, print_json
from ledger_client.terminal import clear_errors, console


@clear_errors
def list_credentials(
    subject: Annotated[str | None, typer.Option(help="Only credentials about this DID")] = None,
    type_name: Annotated[
        str | None, typer.Option("--type", help="Only credentials of this type")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """The credentials in the credential store, oldest issued first.

    Listed, not verified: use `credential verify`.

    Example:

    \b
      provenance credential list --type FitForUse --json
    """
    from credentials.issue import credential_hash
    from credentials.types import credential_type

    kind = credential_type(type_name) if type_name is not None else None
    store = open_store(load_settings())
    if subject is not None:
        found = store.of_subject(subject)
    elif kind is not None:
        found = store.of_type(kind.value)
    else:
        found = store.all()
    if kind is not None:
        found = [vc for vc in found if vc["type"][1] == kind.value]
    rows = [
        {
            "credentialHash": hex_of(digest),
            "type": vc["type"][1],
            "issuer": vc["issuer"],
            "subject": vc["credentialSubject"]["id"],
            "issuanceDate": vc["issuanceDate"],
            "expirationDate": vc.get("expirationDate"),
            "anchorTransaction": store.anchor_tx(digest),
            "credential": vc,
        }
        for vc in found
        for digest in (credential_hash(vc),)
    ]
    if json_output:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} credential{'s' if len(rows) != 1 else ''} in the store")
    table.add_column("hash", no_wrap=True)
    for column in ("type", "subject", "issuer", "issued", "expires"):
        table.add_column(column, overflow="fold")
    for row in rows:
        # Text cells: a DID is neither markup nor an emoji code (":key:").
        table.add_row(
            *(
                Text(cell)
                for cell in (
                    row["credentialHash"][:12] + "…",
                    row["type"],
                    abbreviated(row["subject"]),
                    abbreviated(row["issuer"]),
                    row["issuanceDate"],
                    row["expirationDate"] or "—",
                )
            )
        )
    console.print(table)
