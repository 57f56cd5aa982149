"""`provenance prefix …`: GS1 company prefixes and who creates lots of their GTINs (issue 13).

Only a prefix's owner, and the organizations it delegates to, create lots and items of the
GTINs under it. Signed with PROVENANCE_PRIVATE_KEY: the governor's to assign, the owner's
to delegate.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger_client.terminal import clear_errors
from provenance.cli.consortium import (
    JsonOption,
    OrganizationArgument,
    organization,
    organization_sender,
    print_json,
    print_rows,
)

prefix_app = typer.Typer(
    help="GS1 company prefixes: assign (governor), delegate and undelegate (owner).",
    no_args_is_help=True,
)

PrefixArgument = Annotated[
    str,
    typer.Argument(
        metavar="PREFIX",
        help="The GS1 company prefix, 6 to 12 digits (leading zeros count)",
    ),
]


@prefix_app.command("assign")
@clear_errors
def assign(
    prefix: PrefixArgument, org: OrganizationArgument, json_output: JsonOption = False
) -> None:
    """Give PREFIX to ORG (the governor's act).

    Only ORG and its delegates then create lots of its GTINs; reassigning ends the previous
    owner's delegations.

    Example:

    \b
      provenance prefix assign 950600 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    from ledger_client.identifiers import parse_company_prefix
    from ledger_client.ledger import LedgerWriter

    prefix, owner = parse_company_prefix(prefix), organization(org)
    sender, deployment = organization_sender()
    ledger = LedgerWriter(sender, deployment)
    previous = ledger.prefix_owner(prefix)
    receipt = ledger.assign_prefix(prefix, owner)
    if json_output:
        print_json({"prefix": prefix, "owner": owner, "previousOwner": previous}, receipt)
        return
    if previous is None:
        was = "was unassigned"
    elif previous == owner:
        was = "unchanged"
    else:
        was = f"was {previous}, whose delegations end"
    print_rows([("prefix", prefix), ("owner", f"{owner} ({was})")], receipt)


@prefix_app.command("delegate")
@clear_errors
def delegate(
    prefix: PrefixArgument, org: OrganizationArgument, json_output: JsonOption = False
) -> None:
    """Let ORG (a contract manufacturer, say) create lots of PREFIX's GTINs.

    The prefix's owner's act; the delegation lasts while it owns the prefix.

    Example:

    \b
      provenance prefix delegate 950600 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    _set_delegation(prefix, org, delegated=True, json_output=json_output)


@prefix_app.command("undelegate")
@clear_errors
def undelegate(
    prefix: PrefixArgument, org: OrganizationArgument, json_output: JsonOption = False
) -> None:
    """Withdraw ORG's delegation of PREFIX, as the prefix's owner.

    Example:

    \b
      provenance prefix undelegate 950600 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --json
    """
    _set_delegation(prefix, org, delegated=False, json_output=json_output)


def _set_delegation(prefix: str, org: str, *, delegated: bool, json_output: bool) -> None:
    from ledger_client.identifiers import parse_company_prefix
    from ledger_client.ledger import LedgerWriter

    prefix, delegate = parse_company_prefix(prefix), organization(org)
    sender, deployment = organization_sender()
    ledger = LedgerWriter(sender, deployment)
    if delegated:
        receipt = ledger.delegate_prefix(prefix, delegate)
    else:
        receipt = ledger.revoke_prefix_delegation(prefix, delegate)
    owner = sender.account.address
    if json_output:
        print_json(
            {"prefix": prefix, "owner": owner, "delegate": delegate, "delegated": delegated},
            receipt,
        )
        return
    change = "may now" if delegated else "may no longer"
    print_rows(
        [
            ("prefix", f"{prefix} (owner {owner})"),
            ("delegate", f"{delegate} {change} create lots and items of its GTINs"),
        ],
        receipt,
    )
