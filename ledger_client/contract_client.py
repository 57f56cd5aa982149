"""The base of the typed contract clients that write: a contract's view, plus a sender."""

from __future__ import annotations

from ledger_client.contract_view import ContractView
from ledger_client.deployment import Deployment
from ledger_client.transactions import Receipt, TransactionSender


class ContractClient(ContractView):
    """The contract `name` of `deployment`, read as its view reads it; writes are sent (and
    awaited) by `sender`, whose account must hold whatever role the function asks for.

    A typed client is its contract's view and this: `class MembershipClient(MembershipView,
    ContractClient)`.
    """

    def __init__(self, sender: TransactionSender, deployment: Deployment) -> None:
        super().__init__(sender.w3, deployment)
        self.sender = sender

    def _write(self, function: str, *args: object) -> Receipt:
        data = self.contract.encode_abi(function, args=list(args))
        return self.sender.transact(self.address, data, context=f"{self.name}.{function}")
