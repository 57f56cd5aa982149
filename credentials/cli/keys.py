"""The issuer's key: `credential keygen`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from credentials.cli.environment import load_settings
from credentials.cli.inputs import JsonOption
from credentials.cli.output import line, print_json
from ledger_client.terminal import clear_errors, console


@clear_errors
def keygen(
    out: Annotated[Path, typer.Option(help="The new keystore file (never overwritten)")],
    chain_id: Annotated[
        int | None,
        typer.Option(min=1, help="Chain of the did:pkh (default: the node's at the RPC URL)"),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create a secp256k1 key in a new encrypted keystore; print its address and did:pkh.

    Example:

    \b
      PROVENANCE_KEYSTORE_PASSPHRASE='four random words here' \\
          provenance credential keygen --out lab.keystore.json
    """
    from eth_account import Account

    from credentials.identities import pkh_did
    from credentials.keystore import store_key

    if chain_id is None:
        from ledger_client.chain import connect

        ledger = load_settings().ledger
        chain_id = connect(ledger.rpc_url, timeout_s=ledger.rpc_timeout_s).eth.chain_id
    account = Account.create()
    store_key(out, bytes(account.key))
    did = pkh_did(chain_id=chain_id, address=account.address)
    if json_output:
        print_json({"address": account.address, "did": did, "keystore": str(out)})
        return
    line(f"address   {account.address}")
    line(f"did       {did}")
    line(f"keystore  {out} (encrypted; passphrase from PROVENANCE_KEYSTORE_PASSPHRASE)")
    console.print(
        "[yellow]to issue, the governor grants this account ISSUER and trusts it per type[/yellow]"
    )
