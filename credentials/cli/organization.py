"""The organization's own acts, signed with PROVENANCE_PRIVATE_KEY: `credential commission`
and `credential trust`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from credentials.cli.environment import load_settings, organization_sender
from credentials.cli.inputs import JsonOption, issuer_address
from credentials.cli.output import hex_of, line, print_json
from ledger_client.errors import ConfigurationError
from ledger_client.terminal import clear_errors


@clear_errors
def commission_asset(
    link: Annotated[
        str,
        typer.Argument(metavar="URI", help="The lot's or serialized item's GS1 Digital Link URI"),
    ],
    keystore_dir: Annotated[
        Path,
        typer.Option(help="Where the asset's encrypted key is kept (created if missing)"),
    ],
    json_output: JsonOption = False,
) -> None:
    """Commission a lot or serialized item: create it on chain, mint its did:key and bind the
    DID to it for good.

    Signed with PROVENANCE_PRIVATE_KEY (an OPERATOR's). The asset's key is kept encrypted
    under --keystore-dir (passphrase from PROVENANCE_KEYSTORE_PASSPHRASE), e.g. for its tag
    to sign with later; nothing is left there when the chain refuses.

    Example:

    \b
      provenance credential commission https://id.gs1.org/01/09506000134352/10/LOT-A \\
          --keystore-dir keys/lots
    """
    from credentials.assets import commission
    from credentials.registry import CredentialRegistryClient
    from ledger_client.identifiers import DigitalLink
    from ledger_client.keys import private_folder
    from ledger_client.ledger import LedgerWriter

    parsed = DigitalLink.parse(link)
    if keystore_dir.exists() and not keystore_dir.is_dir():
        raise ConfigurationError(f"--keystore-dir {keystore_dir} is a file, not a directory")
    sender, deployment = organization_sender(load_settings())
    private_folder(keystore_dir)
    asset = commission(
        writer=LedgerWriter(sender, deployment),
        registry=CredentialRegistryClient(sender, deployment),
        link=parsed,
        keystore_dir=keystore_dir,
    )
    if json_output:
        print_json(
            {
                "uri": asset.uri,
                "batchId": hex_of(asset.batch_id),
                "did": asset.did,
                "keystore": str(asset.keystore),
            }
        )
        return
    line(f"commissioned {asset.uri}")
    line(f"batch id     {hex_of(asset.batch_id)}")
    line(f"did          {asset.did}")
    line(f"keystore     {asset.keystore} (encrypted)")


@clear_errors
def trust(
    issuer: Annotated[
        str, typer.Argument(help="The issuer: its 0x account address or its did:pkh")
    ],
    type_name: Annotated[
        str,
        typer.Argument(metavar="TYPE", help="The credential type (a wrong one lists all)"),
    ],
    remove: Annotated[
        bool, typer.Option("--remove", help="Take the issuer off the list instead")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Put an issuer on the trust list of one credential type from now on, or take it off.

    The governor's act, signed with PROVENANCE_PRIVATE_KEY. Only a listed issuer anchors
    credentials of the type; the list keeps its history, and a credential is judged by the
    list as it stood when it was anchored.

    Example:

    \b
      provenance credential trust \\
          did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8 CalibrationCertificate
    """
    from credentials.registry import CredentialRegistryClient
    from credentials.types import credential_type

    kind = credential_type(type_name)
    sender, deployment = organization_sender(load_settings())
    address = issuer_address(issuer, chain_id=deployment.chain_id)
    receipt = CredentialRegistryClient(sender, deployment).set_trusted(
        address, kind.value, not remove
    )
    if json_output:
        print_json(
            {
                "issuer": address,
                "type": kind.value,
                "trusted": not remove,
                "transaction": receipt.tx_hash,
                "blockNumber": receipt.block_number,
            }
        )
        return
    line(f"{'untrusted' if remove else 'trusted':<9} {address} for {kind.value}")
    line(f"in        transaction {receipt.tx_hash} (block {receipt.block_number})")
