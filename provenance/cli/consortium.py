"""What the ownership commands (`lot`, `prefix`, `class`) share: the chain, read by anyone;
the organization's own account (PROVENANCE_PRIVATE_KEY, as `deploy` takes it) for writes;
lots and organizations as the command line names them; and how a change is printed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from ledger_client.config import LedgerSettings
from ledger_client.errors import ConfigurationError
from ledger_client.terminal import console

if TYPE_CHECKING:
    from web3 import Web3

    from ledger_client.deployment import Deployment
    from ledger_client.transactions import Receipt, TransactionSender

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document instead of lines")
]
LotArgument = Annotated[
    str,
    typer.Argument(
        metavar="LOT",
        help="The lot's (or serialized item's) Digital Link URI, or its 0x batch id",
    ),
]
OrganizationArgument = Annotated[
    str, typer.Argument(metavar="ORG", help="The organization's 0x account address")
]
ZERO_ADDRESS = "0x" + "0" * 40


@dataclass(frozen=True)
class NamedLot:
    """A lot as the command line named it: its batch id, and its canonical Digital Link URI
    unless it was given by id."""

    batch_id: bytes
    uri: str | None

    @property
    def batch_hex(self) -> str:
        return "0x" + self.batch_id.hex()

    def __str__(self) -> str:
        return f"{self.uri} (batch {self.batch_hex})" if self.uri else f"batch {self.batch_hex}"


def lot_of(text: str) -> NamedLot:
    """The lot (or serialized item: the ledger holds both as batches) of a Digital Link URI,
    in any form `DigitalLink.parse` reads, or of `0x` + 64 hex digits.

    Raises:
        InvalidIdentifier: neither form.
    """
    from ledger_client.identifiers import DigitalLink, parse_batch_id

    if text.startswith("0x"):
        return NamedLot(parse_batch_id(text), None)
    link = DigitalLink.parse(text)
    return NamedLot(link.batch_id, link.uri)


def organization(text: str, *, what: str = "ORG") -> str:
    """The EIP-55 form of an organization's 0x account address; all-lowercase and
    all-uppercase hex are taken, mixed case must carry a correct checksum.

    Raises:
        ConfigurationError: not an address, a wrong checksum (a typo), or the zero address.
    """
    from oracle_bridge.addresses import normalize_address

    try:
        address = normalize_address(text)
    except ValueError as exc:
        raise ConfigurationError(f"{what}: {exc}") from None
    if address == ZERO_ADDRESS:
        raise ConfigurationError(f"{what}: the zero address is no organization")
    return address


def chain(settings: LedgerSettings | None = None) -> tuple[Web3, Deployment]:
    """The node at PROVENANCE_RPC_URL and the deployment record it is checked against."""
    from ledger_client.chain import connect
    from ledger_client.deployment import Deployment

    settings = settings or LedgerSettings()
    w3 = connect(settings.rpc_url, timeout_s=settings.rpc_timeout_s)
    deployment = Deployment.load(settings.deployment_path)
    deployment.check_chain(w3)
    return w3, deployment


def organization_sender() -> tuple[TransactionSender, Deployment]:
    """A sender for the organization's own account (PROVENANCE_PRIVATE_KEY; anvil's public
    keys refused unless the node is anvil), and the deployment it writes to."""
    from eth_account import Account

    from ledger_client.chain import node_is_anvil
    from ledger_client.transactions import TransactionSender

    settings = LedgerSettings()
    w3, deployment = chain(settings)
    settings.require_real_key(local_anvil=node_is_anvil(w3))
    account = Account.from_key(settings.private_key.get_secret_value())
    sender = TransactionSender(w3, account, receipt_timeout_s=settings.receipt_timeout_s)
    return sender, deployment


def address_or_none(address: str) -> str | None:
    """None for the zero address, which the contracts return for "nobody"."""
    return None if int(address, 16) == 0 else address


def print_rows(rows: Sequence[tuple[str, str]], receipt: Receipt | None = None) -> None:
    """Label-value lines, the labels aligned; the transaction last."""
    if receipt is not None:
        rows = [*rows, ("in", f"transaction {receipt.tx_hash} (block {receipt.block_number})")]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        console.print(Text(f"{label:<{width}}  {value}"), highlight=False, soft_wrap=True)


def print_json(document: dict[str, object], receipt: Receipt | None = None) -> None:
    """One JSON document on stdout, with the transaction's hash and block when one was sent."""
    if receipt is not None:
        document = {
            **document,
            "transaction": receipt.tx_hash,
            "blockNumber": receipt.block_number,
        }
    typer.echo(json.dumps(document, indent=2))
