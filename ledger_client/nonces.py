"""A thread-safe nonce manager per sending account (web3.py has none built in)."""

from __future__ import annotations

import threading
from typing import cast

from eth_typing import ChecksumAddress
from web3 import Web3

from ledger_client.chain import rpc

_MANAGERS: dict[tuple[str, str], NonceManager] = {}
_MANAGERS_LOCK = threading.Lock()


class NonceManager:
    """Hands out consecutive nonces for one account.

    Several threads may send for the same account: each reserved nonce is unique. Each
    reservation also reads the node's pending count and jumps ahead when the node is
    ahead — another process (a restarted bridge, an operator's wallet) sent from this
    account — so a stale counter never produces "nonce too low". After a failed send,
    `resync()` starts again from the node (also after a chain revert, where it is behind:
    `ahead_of` tells).
    """

    def __init__(self, w3: Web3, address: ChecksumAddress) -> None:
        self._w3 = w3
        self._address = address
        self._lock = threading.Lock()
        self._next: int | None = None

    @classmethod
    def of(cls, w3: Web3, address: ChecksumAddress) -> NonceManager:
        """The process-wide manager of `address` on this node: every sender shares it."""
        key = (str(getattr(w3.provider, "endpoint_uri", id(w3.provider))), address.lower())
        with _MANAGERS_LOCK:
            manager = _MANAGERS.get(key)
            if manager is None:
                manager = _MANAGERS[key] = cls(w3, address)
            return manager

    def reserve(self, count: int) -> int:
        """The first of `count` consecutive nonces now reserved for the caller."""
        with self._lock:
            pending = int(
                cast(str, rpc(self._w3, "eth_getTransactionCount", [self._address, "pending"])), 16
            )
            if self._next is None or pending > self._next:
                self._next = pending
            first = self._next
            self._next += count
            return first

    def next(self) -> int:
        return self.reserve(1)

    def ahead_of(self, node_count: int) -> bool:
        """Whether nonces were handed out beyond `node_count`, the node's pending count:
        asked while nothing is being sent, transactions sent through this manager that the
        node no longer holds (its pool was lost, the chain rolled back)."""
        with self._lock:
            return self._next is not None and self._next > node_count

    def resync(self) -> None:
        with self._lock:
            self._next = None
