"""`provenance class …`: who answers for a product class's cold-chain rule (issue 13).

A class's rule decides which of its lots get quarantined, so only the quality organization
the governor assigned to the class sets it.
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

class_app = typer.Typer(
    help="Product classes: the quality organization that sets each one's cold-chain rule.",
    no_args_is_help=True,
)


@class_app.command("authority")
@clear_errors
def authority(
    product: Annotated[
        str,
        typer.Argument(
            metavar="CLASS",
            help="The product's GTIN or Digital Link URI (https://id.gs1.org/01/{gtin}), "
            "or the class's 0x id",
        ),
    ],
    org: OrganizationArgument,
    json_output: JsonOption = False,
) -> None:
    """Make ORG the one organization that sets CLASS's rule (the governor's act).

    ORG also needs QUALITY_ROLE. The rule in force stays until ORG sets another.

    Example:

    \b
      provenance class authority 09506000134352 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    from ledger_client.identifiers import parse_product_class
    from oracle_bridge.contracts import ComplianceRulesClient

    product_class, quality = parse_product_class(product), organization(org)
    sender, deployment = organization_sender()
    rules = ComplianceRulesClient(sender, deployment)
    previous = rules.class_authority(product_class)
    receipt = rules.assign_class_authority(product_class, quality)
    class_id = "0x" + product_class.hex()
    if json_output:
        print_json(
            {"productClass": class_id, "authority": quality, "previousAuthority": previous},
            receipt,
        )
        return
    named = class_id if product.startswith("0x") else f"{class_id} ({product})"
    print_rows([("class", named), ("authority", f"{quality} (was {previous or 'none'})")], receipt)
