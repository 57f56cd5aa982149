"""Sign, send and confirm transactions; reverts surface as named Python exceptions."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_account.types import TransactionDictType
from eth_typing import HexStr
from web3 import Web3
from web3.types import RPCEndpoint, TxParams

from ledger_client.chain import chain_refusals, rpc, rpc_many
from ledger_client.errors import ChainRejected, TransactionTimeout
from ledger_client.nonces import NonceManager
from ledger_client.reverts import decode_revert
from ledger_client.signing import CallSigner

# Head-room over eth_estimateGas: state can move between estimate and inclusion.
GAS_MARGIN = 1.10


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    block_number: int
    gas_used: int
    logs: list[dict]
    contract_address: str | None = None


class TransactionSender:
    """Sends transactions for one account: estimate (revealing reverts), sign, send, wait."""

    def __init__(
        self, w3: Web3, account: LocalAccount, *, receipt_timeout_s: float = 120.0
    ) -> None:
        self.w3 = w3
        self.account = account
        self.nonces = NonceManager.of(w3, account.address)
        self.receipt_timeout_s = receipt_timeout_s
        self.chain_id = w3.eth.chain_id
        self._call_signer = CallSigner(account.key)

    def estimate_gas(self, to: str | None, data: bytes, *, context: str = "") -> int:
        """Gas for the call (`to=None` deploys); a would-be revert raises its decoded error."""
        call: TxParams = {"from": self.account.address, "data": data}
        if to:
            call["to"] = to
        with chain_refusals(context):
            return self.w3.eth.estimate_gas(call)

    def send(
        self,
        to: str | None,
        data: bytes,
        *,
        gas: int | None = None,
        fees: dict[str, int] | None = None,
        context: str = "",
    ) -> str:
        """Sign and send without waiting (`to=None` deploys); returns the transaction hash.

        Without `gas` the call is estimated first, so a revert raises before anything is sent.
        """
        if gas is None:
            gas = int(self.estimate_gas(to, data, context=context) * GAS_MARGIN)
        tx: TransactionDictType = {
            "chainId": self.chain_id,
            **({"to": HexStr(to)} if to else {}),
            "data": data,
            "gas": gas,
            **(fees or self.current_fees()),
        }
        for attempt in (1, 2):
            signed = self.account.sign_transaction({**tx, "nonce": self.nonces.next()})
            response = self.w3.provider.make_request(
                RPCEndpoint("eth_sendRawTransaction"), ["0x" + signed.raw_transaction.hex()]
            )
            if "error" not in response:
                break
            self.nonces.resync()
            # Another process sent from this account: re-read its nonce and try once more.
            if attempt == 2 or "nonce" not in str(response["error"]).lower():
                raise ChainRejected(
                    f"{context}: the node rejected the transaction: {response['error']}"
                )
        return response["result"]

    def send_many(
        self, to: str, calls: Sequence[tuple[bytes, int]], *, context: str = ""
    ) -> list[str]:
        """Sign (data, gas) calls to `to` with consecutive nonces and send them in one request.

        The hot path of anchoring: no estimate, one fee look-up, one round trip.
        """
        fees = self.current_fees()
        first_nonce = self.nonces.reserve(len(calls))
        raw = [
            "0x"
            + self._sign(
                {
                    "chainId": self.chain_id,
                    "to": HexStr(to),
                    "data": data,
                    "gas": gas,
                    "nonce": first_nonce + offset,
                    **fees,
                }
            ).hex()
            for offset, (data, gas) in enumerate(calls)
        ]
        try:
            return rpc_many(self.w3, [("eth_sendRawTransaction", [tx]) for tx in raw])
        except ChainRejected as exc:
            self.nonces.resync()
            raise ChainRejected(f"{context}: the node rejected a transaction: {exc}") from None

    def held_by_node(self, tx_hashes: Sequence[str]) -> set[str]:
        """Those of `tx_hashes` the node has mined or can still mine, asked in one request.

        Not among them: a transaction the node does not know (its pool was lost, the chain
        rolled back), and one it knows but queues behind a nonce gap (a nonce at or above
        the account's pending count: an earlier transaction of the account was lost).
        """
        if not tx_hashes:
            return set()
        *found, latest, pending = rpc_many(
            self.w3,
            [("eth_getTransactionByHash", [h]) for h in tx_hashes]
            + [
                ("eth_getTransactionCount", [self.account.address, "latest"]),
                ("eth_getTransactionCount", [self.account.address, "pending"]),
            ],
        )
        # The next nonce to mine is never behind a gap (anvil may count it out of "pending"
        # while it builds a block).
        executable = max(int(latest, 16) + 1, int(pending, 16))
        return {
            tx_hash
            for tx_hash, tx in zip(tx_hashes, found, strict=True)
            if tx is not None
            and (tx.get("blockNumber") is not None or int(tx["nonce"], 16) < executable)
        }

    def wait(self, tx_hashes: Sequence[str], *, context: str = "") -> list[Receipt]:
        """Wait for every receipt; a reverted transaction raises its decoded error."""
        deadline = time.monotonic() + self.receipt_timeout_s
        pending = dict.fromkeys(tx_hashes)
        delay = 0.005
        while any(r is None for r in pending.values()):
            waiting = [h for h, r in pending.items() if r is None]
            found = rpc_many(self.w3, [("eth_getTransactionReceipt", [h]) for h in waiting])
            pending.update(zip(waiting, found, strict=True))
            if all(r is not None for r in pending.values()):
                break
            if time.monotonic() > deadline:
                missing = [h for h, r in pending.items() if r is None]
                raise TransactionTimeout(
                    f"{context}: no receipt after {self.receipt_timeout_s:.0f}s for "
                    f"{len(missing)} transaction(s), first {missing[0]}; "
                    "is the chain producing blocks?"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        receipts = []
        for tx_hash in tx_hashes:
            raw = pending[tx_hash]
            assert raw is not None
            if int(raw["status"], 16) != 1:
                raise self._revert_of(tx_hash, int(raw["blockNumber"], 16), context)
            receipts.append(
                Receipt(
                    tx_hash=tx_hash,
                    block_number=int(raw["blockNumber"], 16),
                    gas_used=int(raw["gasUsed"], 16),
                    logs=raw["logs"],
                    contract_address=raw.get("contractAddress"),
                )
            )
        return receipts

    def transact(self, to: str | None, data: bytes, *, context: str = "") -> Receipt:
        """Send one transaction and wait for its receipt."""
        return self.wait([self.send(to, data, context=context)], context=context)[0]

    def _sign(self, tx: TransactionDictType) -> bytes:
        if CallSigner.handles(tx):
            return self._call_signer.sign(tx)
        return bytes(self.account.sign_transaction(tx).raw_transaction)

    def current_fees(self) -> dict[str, int]:
        """EIP-1559 fees that survive a doubling of the base fee (legacy price where none)."""
        # Raw calls: web3 would format the whole pending block to read one field of it.
        block = cast(dict[str, Any], rpc(self.w3, "eth_getBlockByNumber", ["pending", False]))
        if block.get("baseFeePerGas") is None:  # a pre-London or legacy-priced PoA network
            return {"gasPrice": self.w3.eth.gas_price}
        base_fee = int(block["baseFeePerGas"], 16)
        tip = int(cast(str, rpc(self.w3, "eth_maxPriorityFeePerGas", [])), 16)
        return {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}

    def _revert_of(self, tx_hash: str, block: int, context: str) -> ChainRejected:
        tx = cast(dict[str, Any], rpc(self.w3, "eth_getTransactionByHash", [tx_hash]))
        call = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]}
        response = self.w3.provider.make_request(RPCEndpoint("eth_call"), [call, hex(block - 1)])
        error = response.get("error")
        data_hex = error.get("data") if error else None
        if isinstance(data_hex, str):
            return decode_revert(data_hex, context=context)
        return ChainRejected(
            f"{context}: transaction {tx_hash} reverted (out of gas or state changed)"
        )
