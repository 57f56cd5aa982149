"""A thread-safe nonce manager per sending account (web3.py has none built in)."""

from __future__ import annotations

import threading

from web3 import Web3

_MANAGERS: dict[tuple[str, str], NonceManager] = {}
_MANAGERS_LOCK = threading.Lock()


class NonceManager:
    """Hands out consecutive nonces for one account, starting from the node's pending count.

    Several threads may send for the same account: each `next()` is unique. After a
    failed send, `resync()` re-reads the node so a gap never blocks later transactions.
    """

    def __init__(self, w3: Web3, address: str) -> None:
        self._w3 = w3
        self._address = address
        self._lock = threading.Lock()
        self._next: int | None = None

    @classmethod
    def of(cls, w3: Web3, address: str) -> NonceManager:
        """The process-wide manager of `address` on this node: every sender shares it."""
        key = (str(getattr(w3.provider, "endpoint_uri", id(w3.provider))), address.lower())
        with _MANAGERS_LOCK:
            manager = _MANAGERS.get(key)
            if manager is None:
                manager = _MANAGERS[key] = cls(w3, address)
            return manager

    def next(self) -> int:
        with self._lock:
            if self._next is None:
                self._next = self._w3.eth.get_transaction_count(self._address, "pending")
            nonce = self._next
            self._next += 1
            return nonce

    def resync(self) -> None:
        with self._lock:
            self._next = None
