"""The base of the typed contract wrappers: a deployed contract, written through a sender."""

from __future__ import annotations

from typing import ClassVar

from ledger_client.deployment import Deployment
from ledger_client.transactions import Receipt, TransactionSender


class ContractClient:
    """The contract `name` of `deployment`; writes are sent (and awaited) by `sender`, whose
    account must hold whatever role the function asks for."""

    name: ClassVar[str]

    def __init__(self, sender: TransactionSender, deployment: Deployment) -> None:
        self.sender = sender
        self.address = deployment.address(self.name)
        self.contract = deployment.contract(sender.w3, self.name)

    def _write(self, function: str, *args: object) -> Receipt:
        data = self.contract.encode_abi(function, args=list(args))
        return self.sender.transact(self.address, data, context=f"{self.name}.{function}")
