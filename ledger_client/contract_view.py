"""Read-only access to a deployed contract: its view functions, called without an account.

A `ContractView` reads one at a time through web3 (`contract.functions.f(...).call()`), or
hands out `Read`s of its view functions (raw `eth_call`s) to send together in a
`reads.ReadBatch`. The typed clients that write (`contract_client.ContractClient`) build on
the views of their contracts.
"""

from __future__ import annotations

from typing import ClassVar

from eth_abi import decode
from eth_utils.abi import collapse_if_tuple
from web3 import Web3
from web3.contract import Contract

from ledger_client.deployment import Deployment
from ledger_client.reads import Read


class ViewFunction:
    """One view function of a contract as raw `eth_call`s: the call encoded by web3, the
    outputs decoded by eth_abi (addresses in lower case, unlike web3's call)."""

    def __init__(self, contract: Contract, name: str) -> None:
        self._contract = contract
        self._name = name
        outputs = contract.get_function_by_name(name).abi["outputs"]
        self._types = [collapse_if_tuple(output) for output in outputs]

    def read(self, *args: object) -> Read[tuple]:
        """The call with `args`; its result decodes to the tuple of the function's outputs."""
        data = self._contract.encode_abi(self._name, args=list(args))
        return Read(
            "eth_call", [{"to": self._contract.address, "data": data}, "latest"], self.decode
        )

    def decode(self, result: str) -> tuple:
        return decode(self._types, bytes.fromhex(result.removeprefix("0x")))


class ContractView:
    """The contract `name` of `deployment`, read; no account needed."""

    name: ClassVar[str]

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.address = deployment.address(self.name)
        self.contract = deployment.contract(w3, self.name)
        self._functions: dict[str, ViewFunction] = {}

    def _function(self, name: str) -> ViewFunction:
        """View function `name` as raw calls (built once per view)."""
        function = self._functions.get(name)
        if function is None:
            function = self._functions[name] = ViewFunction(self.contract, name)
        return function
