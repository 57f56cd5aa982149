"""Chain reads sent together: each one JSON-RPC call with the decoding of its raw result,
sent in one batch through `chain.rpc_many` (one call each where a node refuses batches)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from web3 import Web3

from ledger_client.chain import rpc, rpc_many

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Read(Generic[T]):
    """One JSON-RPC call and how to read its raw result."""

    method: str
    params: list
    decode: Callable[[Any], T]

    def then(self, convert: Callable[[T], U]) -> Read[U]:
        """The same call, its decoded result passed on through `convert`."""
        decode = self.decode
        return Read(self.method, self.params, lambda result: convert(decode(result)))


def read(w3: Web3, one: Read[T]) -> T:
    """The decoded result of one read, sent alone."""
    return one.decode(rpc(w3, one.method, one.params))


class ReadBatch:
    """Reads to send together; each decoded result is at the index `add` returned."""

    def __init__(self) -> None:
        self._reads: list[Read[Any]] = []

    def add(self, one: Read[Any]) -> int:
        self._reads.append(one)
        return len(self._reads) - 1

    def run(self, w3: Web3) -> list[Any]:
        """The decoded results, in the order the reads were added."""
        raw = rpc_many(w3, [(one.method, one.params) for one in self._reads])
        return [one.decode(result) for one, result in zip(self._reads, raw, strict=True)]
