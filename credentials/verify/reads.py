"""The verifier's chain reads as raw JSON-RPC calls: encoded here, sent together through
`ledger_client.chain.rpc_many` (one batch, or one call each where a node refuses batches),
each result decoded its own way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector
from eth_utils.abi import collapse_if_tuple
from web3 import Web3
from web3.contract import Contract

from credentials.registry import CredentialStatus
from ledger_client.chain import rpc_many
from ledger_client.deployment import Deployment

_STATUS_MANY = function_signature_to_4byte_selector("statusMany(bytes32[])")


class ChainReads:
    """Calls to send together, each with the decoder of its result."""

    def __init__(self) -> None:
        self._calls: list[tuple[str, list]] = []
        self._decoders: list[Callable[[Any], Any]] = []

    def add(self, call: tuple[str, list], decoder: Callable[[Any], Any]) -> int:
        """Queue `call`; its decoded result will be at the returned index of `run`'s list."""
        self._calls.append(call)
        self._decoders.append(decoder)
        return len(self._calls) - 1

    def run(self, w3: Web3) -> list[Any]:
        """The decoded results, in the order the calls were added."""
        raw = rpc_many(w3, self._calls)
        return [decoder(result) for decoder, result in zip(self._decoders, raw, strict=True)]


class ViewFunction:
    """One view function of a contract as raw `eth_call`s: encode the call, decode the result."""

    def __init__(self, contract: Contract, name: str) -> None:
        self._contract = contract
        self._name = name
        outputs = contract.get_function_by_name(name).abi["outputs"]
        self._types = [collapse_if_tuple(output) for output in outputs]

    def call(self, *args: object) -> tuple[str, list]:
        data = self._contract.encode_abi(self._name, args=list(args))
        return "eth_call", [{"to": self._contract.address, "data": data}, "latest"]

    def decode(self, result: str) -> tuple:
        return decode(self._types, bytes.fromhex(result.removeprefix("0x")))


def contract_of(w3: Web3, deployment: Deployment, name: str) -> Contract:
    return deployment.contract(w3, name)


def status_many_call(registry_address: str, hashes: list[bytes]) -> tuple[str, list]:
    """`CredentialRegistry.statusMany(hashes)`, encoded by hand: the one call of a warm
    verification."""
    data = "0x" + (_STATUS_MANY + encode(["bytes32[]"], [hashes])).hex()
    return "eth_call", [{"to": registry_address, "data": data}, "latest"]


def decode_statuses(result: str) -> list[CredentialStatus]:
    (statuses,) = decode(["uint8[]"], bytes.fromhex(result.removeprefix("0x")))
    return [CredentialStatus(status) for status in statuses]


def block_head(block: Mapping[str, str]) -> tuple[int, int]:
    """(number, timestamp) of an `eth_getBlockByNumber` result."""
    return int(block["number"], 16), int(block["timestamp"], 16)
