"""Typed wrapper of the AccessTrail contract: members anchor their API access trail's head."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak
from web3 import Web3

from ledger_client.chain import rpc_many
from ledger_client.contract_client import ContractClient
from ledger_client.transactions import Receipt

TRAIL_ANCHORED = "0x" + keccak(text="TrailAnchored(address,bytes32,uint64)").hex()


@dataclass(frozen=True)
class TrailAnchor:
    """A head anchored on chain: the trail's last hash after `entry_count` entries."""

    head: bytes
    entry_count: int
    block: int
    tx: str


class AccessTrailClient(ContractClient):
    """Anchors the sender's organization's trail head; reads anyone's."""

    name = "AccessTrail"

    def anchor(self, head: bytes, entry_count: int) -> Receipt:
        """Anchor `head` (32 bytes) after `entry_count` entries, more than anchored last."""
        return self._write("anchor", head, entry_count)

    def latest(self, organization: str) -> tuple[bytes, int]:
        """The latest head `organization` anchored and its entry count (zeroes: none)."""
        head, count, _ = self.contract.functions.latest(
            Web3.to_checksum_address(organization)
        ).call()
        return bytes(head), int(count)

    def anchors(
        self, organization: str, *, first_block: int, chunk_blocks: int
    ) -> list[TrailAnchor]:
        """Every head `organization` anchored from `first_block` on, in chain order (logs
        read in one JSON-RPC batch of `eth_getLogs` of at most `chunk_blocks` blocks each)."""
        last_block = self.sender.w3.eth.block_number
        topic = "0x" + bytes(12).hex() + Web3.to_checksum_address(organization)[2:].lower()
        calls = [
            (
                "eth_getLogs",
                [
                    {
                        "address": self.address,
                        "topics": [TRAIL_ANCHORED, topic],
                        "fromBlock": hex(start),
                        "toBlock": hex(min(start + chunk_blocks - 1, last_block)),
                    }
                ],
            )
            for start in range(first_block, last_block + 1, chunk_blocks)
        ]
        logs = [log for chunk in rpc_many(self.sender.w3, calls) for log in chunk]
        logs.sort(key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16)))
        anchors = []
        for log in logs:
            data = bytes.fromhex(log["data"][2:])
            anchors.append(
                TrailAnchor(
                    head=data[:32],
                    entry_count=int.from_bytes(data[32:64], "big"),
                    block=int(log["blockNumber"], 16),
                    tx=log["transactionHash"],
                )
            )
        return anchors
