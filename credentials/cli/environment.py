"""What the commands run against: the settings, the chain, the organization's sender and the
credential store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from credentials.config import CredentialSettings

if TYPE_CHECKING:
    from web3 import Web3

    from credentials.store import CredentialStore
    from ledger_client.deployment import Deployment
    from ledger_client.transactions import TransactionSender


# The claims of a ColdChainComplianceCredential about a lot (its Digital Link URI), from
# whoever records shipments: the bridge, which the credential layer never imports; the
# composition root (`provenance.cli`) hands it in through the command's context.
ShipmentClaims = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class CredentialPorts:
    """What the credential commands take from the layers above them (`typer.Context.obj`)."""

    shipment_claims: ShipmentClaims | None = None


def load_settings() -> CredentialSettings:
    """The credential layer's settings (they hold the ledger's)."""
    return CredentialSettings()


def connect_chain(settings: CredentialSettings) -> tuple[Web3, Deployment]:
    from ledger_client.chain import connect
    from ledger_client.deployment import Deployment

    ledger = settings.ledger
    w3 = connect(ledger.rpc_url, timeout_s=ledger.rpc_timeout_s)
    deployment = Deployment.load(ledger.deployment_path)
    deployment.check_chain(w3)
    return w3, deployment


def organization_sender(settings: CredentialSettings) -> tuple[TransactionSender, Deployment]:
    """A sender for the organization's own account (PROVENANCE_PRIVATE_KEY; anvil's public
    keys refused unless the node is anvil), and the deployment it writes to."""
    from eth_account import Account

    from ledger_client.chain import node_is_anvil
    from ledger_client.transactions import TransactionSender

    w3, deployment = connect_chain(settings)
    settings.ledger.require_real_key(local_anvil=node_is_anvil(w3))
    sender = TransactionSender(
        w3,
        Account.from_key(settings.ledger.private_key.get_secret_value()),
        receipt_timeout_s=settings.ledger.receipt_timeout_s,
    )
    return sender, deployment


def open_store(settings: CredentialSettings) -> CredentialStore:
    from credentials.store import CredentialStore, create_credential_tables
    from ledger_client.db import make_engine

    engine = make_engine(
        settings.resolved_database_url, variable="PROVENANCE_CREDENTIAL_DATABASE_URL"
    )
    create_credential_tables(engine)
    return CredentialStore(engine)
