"""Issuing and revoking: `credential issue` (sign, anchor, keep) and `credential revoke`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from credentials.cli.environment import (
    CredentialPorts,
    connect_chain,
    load_settings,
    open_store,
)
from credentials.cli.inputs import (
    CredentialArgument,
    JsonOption,
    KeyOption,
    ReasonOption,
    credential_target,
    expiry_of,
    json_object,
)
from credentials.cli.output import hex_of, line, note, print_json
from credentials.errors import InvalidClaims
from ledger_client.errors import ConfigurationError
from ledger_client.terminal import clear_errors

if TYPE_CHECKING:
    from credentials.types import CredentialType


@clear_errors
def issue(
    ctx: typer.Context,
    type_name: Annotated[
        str,
        typer.Argument(
            metavar="TYPE", help="The credential type, e.g. FitForUse (a wrong one lists all)"
        ),
    ],
    subject: Annotated[str, typer.Option(help="The DID the credential is about")],
    key: KeyOption,
    claims: Annotated[
        Path | None,
        typer.Option(help="JSON file of the credentialSubject claims (all but `id`)"),
    ] = None,
    shipment: Annotated[
        str | None,
        typer.Option(
            help="ColdChainComplianceCredential only: take the claims from the bridge "
            "database's summary of this lot (Digital Link URI)"
        ),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(help="expirationDate: ISO 8601 with offset (2027-01-01T00:00:00Z) or a date"),
    ] = None,
    suspends_with_lot: Annotated[
        str | None,
        typer.Option(
            help="Lot URI (or 0x batch id): SUSPENDED while it is quarantined "
            "(a FitForUse always is, with its own lot)"
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the signed credential here (default: stdout)")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Sign a credential, anchor its hash on chain and keep it in the credential store.

    The signed credential goes to stdout, or to --out.

    Example:

    \b
      provenance credential issue CalibrationCertificate --subject \\
          did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8 \\
          --key lab.keystore.json --claims calibration.json --out calibration.vc.json
    """
    from eth_account import Account

    from credentials.identities import account_signer
    from credentials.issue import credential_hash
    from credentials.keystore import load_key
    from credentials.registry import CredentialRegistryClient
    from credentials.service import issue_and_anchor
    from credentials.types import credential_type
    from ledger_client.identifiers import parse_batch_id
    from ledger_client.transactions import TransactionSender

    kind = credential_type(type_name)
    if (claims is None) == (shipment is None):
        raise ConfigurationError("pass exactly one of --claims FILE and --shipment LOT")
    if out is not None and out.exists():
        raise ConfigurationError(f"{out} exists already; choose another --out")
    settings = load_settings()
    expiration = expiry_of(expires) if expires is not None else None
    suspends_with = parse_batch_id(suspends_with_lot) if suspends_with_lot else None
    if claims is not None:
        subject_claims = json_object(claims, InvalidClaims, what="claims")
    else:
        subject_claims = _shipment_claims(kind, shipment or "", ctx.find_object(CredentialPorts))
    secret = load_key(key)
    w3, deployment = connect_chain(settings)
    sender = TransactionSender(
        w3, Account.from_key(secret), receipt_timeout_s=settings.ledger.receipt_timeout_s
    )
    store = open_store(settings)
    vc = issue_and_anchor(
        registry=CredentialRegistryClient(sender, deployment),
        signer=account_signer(secret, chain_id=deployment.chain_id),
        credential_type=kind,
        subject_did=subject,
        claims=subject_claims,
        expiration_date=expiration,
        suspends_with_batch=suspends_with,
        store=store,
    )
    digest = credential_hash(vc)
    anchor_tx = store.anchor_tx(digest)
    document = json.dumps(vc, indent=2) + "\n"
    if out is not None:
        out.write_text(document)
    if json_output:
        print_json(
            {
                "credentialHash": hex_of(digest),
                "anchorTransaction": anchor_tx,
                "out": str(out) if out is not None else None,
                "credential": vc,
            }
        )
        return
    # Without --out stdout carries the credential alone, so the summary goes to stderr.
    show = line if out is not None else note
    if out is None:
        typer.echo(document, nl=False)
    show(f"issued    {vc['type'][1]} {vc['id']}")
    show(f"hash      {hex_of(digest)}")
    show(f"issuer    {vc['issuer']}")
    show(f"subject   {subject}")
    show(f"anchored  in transaction {anchor_tx}")
    if out is not None:
        show(f"written   {out}")


@clear_errors
def revoke(
    credential: CredentialArgument,
    reason: ReasonOption,
    key: KeyOption,
    json_output: JsonOption = False,
) -> None:
    """Revoke a credential for good (its issuer's key; a governor has `governor-revoke`).

    Example:

    \b
      provenance credential revoke calibration.vc.json --key lab.keystore.json \\
          --reason "reference thermometer found out of tolerance"
    """
    from eth_account import Account

    from credentials.issue import credential_hash
    from credentials.keystore import load_key
    from credentials.registry import CredentialRegistryClient
    from credentials.service import revoke_credential
    from ledger_client.transactions import TransactionSender

    target = credential_target(credential)
    settings = load_settings()
    secret = load_key(key)
    w3, deployment = connect_chain(settings)
    sender = TransactionSender(
        w3, Account.from_key(secret), receipt_timeout_s=settings.ledger.receipt_timeout_s
    )
    receipt = revoke_credential(
        registry=CredentialRegistryClient(sender, deployment),
        vc_or_hash=target,
        reason=reason,
        store=open_store(settings),
    )
    digest = target if isinstance(target, str) else hex_of(credential_hash(target))
    if json_output:
        print_json(
            {
                "credentialHash": digest,
                "revoked": True,
                "reason": reason,
                "transaction": receipt.tx_hash,
                "blockNumber": receipt.block_number,
            }
        )
        return
    line(f"revoked   {digest}")
    line(f"reason    {reason}")
    line(f"in        transaction {receipt.tx_hash} (block {receipt.block_number})")


def _shipment_claims(
    kind: CredentialType, lot: str, ports: CredentialPorts | None
) -> dict[str, Any]:
    """The claims of a ColdChainComplianceCredential about `lot`, from the shipment records
    the composition root wired in (the bridge database's)."""
    from credentials.types import CredentialType

    if kind is not CredentialType.COLD_CHAIN_COMPLIANCE:
        raise ConfigurationError(
            f"--shipment gives the claims of a {CredentialType.COLD_CHAIN_COMPLIANCE.value}, "
            f"not of a {kind.value}: pass --claims FILE"
        )
    if ports is None or ports.shipment_claims is None:
        raise ConfigurationError(
            "--shipment needs the bridge's shipment records, which this command was not "
            "given: run it as `provenance credential issue`, or pass --claims FILE"
        )
    return ports.shipment_claims(lot)
