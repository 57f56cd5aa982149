"""`provenance lot …`: who owns, holds and may write about a lot (issue 13).

Every write is signed with PROVENANCE_PRIVATE_KEY, the organization's own account; the
ledger refuses it (one line naming the account, the batch and what it lacks) unless that
organization is the lot's owner or custodian, or the one the custody is offered to.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger_client.terminal import clear_errors
from provenance.cli.consortium import (
    JsonOption,
    LotArgument,
    OrganizationArgument,
    address_or_none,
    chain,
    lot_of,
    organization,
    organization_sender,
    print_json,
    print_rows,
)
from provenance.cli.quarantine import acknowledge, release

lot_app = typer.Typer(
    help="A lot's owner, custodian and writers: authorize, revoke, offer, accept, show; "
    "quality's acknowledge and release.",
    no_args_is_help=True,
)
lot_app.command("acknowledge")(acknowledge)
lot_app.command("release")(release)


@lot_app.command("authorize")
@clear_errors
def authorize(lot: LotArgument, org: OrganizationArgument, json_output: JsonOption = False) -> None:
    """Let ORG record the lot's events (a lab's inspection, say), as its owner or custodian.

    The authorization stands while its granter stays the lot's owner or custodian.

    Example:

    \b
      provenance lot authorize https://id.gs1.org/01/09506000134352/10/LOT-A \\
          0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    from ledger_client.ledger import LedgerWriter

    named, writer = lot_of(lot), organization(org)
    sender, deployment = organization_sender()
    receipt = LedgerWriter(sender, deployment).authorize_writer(named.batch_id, writer)
    if json_output:
        print_json(
            {"lot": named.uri, "batchId": named.batch_hex, "writer": writer, "authorized": True},
            receipt,
        )
        return
    print_rows(
        [("lot", str(named)), ("authorized", f"{writer} may now record the lot's events")],
        receipt,
    )


@lot_app.command("revoke")
@clear_errors
def revoke(lot: LotArgument, org: OrganizationArgument, json_output: JsonOption = False) -> None:
    """Withdraw ORG's authorization to record the lot's events, as its owner or custodian.

    Example:

    \b
      provenance lot revoke https://id.gs1.org/01/09506000134352/10/LOT-A \\
          0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    from ledger_client.ledger import LedgerWriter

    named, writer = lot_of(lot), organization(org)
    sender, deployment = organization_sender()
    ledger = LedgerWriter(sender, deployment)
    receipt = ledger.revoke_writer(named.batch_id, writer)
    # The lot's owner and custodian write by right, whatever was granted them.
    still_writes = ledger.is_writer(named.batch_id, writer)
    if json_output:
        print_json(
            {
                "lot": named.uri,
                "batchId": named.batch_hex,
                "writer": writer,
                "authorized": False,
                "mayWrite": still_writes,
            },
            receipt,
        )
        return
    outcome = (
        "still records the lot's events, as its owner or custodian"
        if still_writes
        else "may no longer record the lot's events"
    )
    print_rows([("lot", str(named)), ("revoked", f"{writer} {outcome}")], receipt)


@lot_app.command("offer")
@clear_errors
def offer(lot: LotArgument, org: OrganizationArgument, json_output: JsonOption = False) -> None:
    """Offer custody of the lot to ORG (shipping), as its custodian.

    ORG takes it with `provenance lot accept LOT`; a new offer replaces the standing one.

    Example:

    \b
      provenance lot offer https://id.gs1.org/01/09506000134352/10/LOT-A \\
          0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    from ledger_client.ledger import LedgerWriter

    named, receiver = lot_of(lot), organization(org)
    sender, deployment = organization_sender()
    receipt = LedgerWriter(sender, deployment).offer_custody(named.batch_id, receiver)
    if json_output:
        print_json(
            {
                "lot": named.uri,
                "batchId": named.batch_hex,
                "custodian": sender.account.address,
                "offeredTo": receiver,
            },
            receipt,
        )
        return
    print_rows(
        [
            ("lot", str(named)),
            ("offered", f"custody to {receiver}, who takes it with `provenance lot accept`"),
            ("custodian", f"{sender.account.address} until then"),
        ],
        receipt,
    )


@lot_app.command("accept")
@clear_errors
def accept(lot: LotArgument, json_output: JsonOption = False) -> None:
    """Take custody of a lot offered to this organization (receiving).

    Example:

    \b
      provenance lot accept https://id.gs1.org/01/09506000134352/10/LOT-A --json
    """
    from ledger_client.ledger import LedgerWriter

    named = lot_of(lot)
    sender, deployment = organization_sender()
    ledger = LedgerWriter(sender, deployment)
    previous = ledger.custody(named.batch_id).custodian
    receipt = ledger.accept_custody(named.batch_id)
    custodian = sender.account.address
    if json_output:
        print_json(
            {
                "lot": named.uri,
                "batchId": named.batch_hex,
                "custodian": custodian,
                "previousCustodian": previous,
            },
            receipt,
        )
        return
    print_rows([("lot", str(named)), ("custodian", f"{custodian} (was {previous})")], receipt)


@lot_app.command("show")
@clear_errors
def show(
    lot: LotArgument,
    writer: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ORG",
            help="Also say whether this organization may record the lot's events (repeatable)",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Show the lot's status, owner, custodian and custody offer (no key needed).

    Its owner, its custodian and the organizations one of them authorized record its
    events: ask about one with --writer ORG.

    Example:

    \b
      provenance lot show https://id.gs1.org/01/09506000134352/10/LOT-A --writer \\
          0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --json
    """
    from ledger_client.errors import revert_class
    from ledger_client.lifecycle import BatchKind, BatchStatus

    named = lot_of(lot)
    asked = [organization(org, what="--writer") for org in writer or []]
    w3, deployment = chain()
    ledger = deployment.contract(w3, "ProvenanceLedger").functions
    kind, status, _, event_count, product_class = ledger.batch(named.batch_id).call()
    if status == BatchStatus.NONE:
        raise revert_class("ProvenanceLedgerUnknownBatch")(
            "ProvenanceLedgerUnknownBatch",
            {"batchId": named.batch_hex},
            f"ProvenanceLedgerUnknownBatch: {named} is not on the ledger",
        )
    owner, custodian = ledger.custody(named.batch_id).call()
    offered_to = address_or_none(ledger.custodyOffer(named.batch_id).call())
    writes = {org: bool(ledger.isWriter(named.batch_id, org).call()) for org in asked}
    if json_output:
        print_json(
            {
                "lot": named.uri,
                "batchId": named.batch_hex,
                "kind": BatchKind(kind).name,
                "status": BatchStatus(status).name,
                "eventCount": event_count,
                "productClass": "0x" + product_class.hex(),
                "owner": owner,
                "custodian": custodian,
                "custodyOfferedTo": offered_to,
                "mayWrite": writes,
            }
        )
        return
    rows = [
        ("lot", str(named)),
        ("status", f"{BatchStatus(status).name}, {event_count:,} events"),
        ("owner", owner),
        ("custodian", custodian),
        ("offered to", offered_to or "nobody"),
        ("class", "0x" + product_class.hex()),
    ]
    rows += [("may write", f"{org} {'yes' if ok else 'no'}") for org, ok in writes.items()]
    print_rows(rows)
