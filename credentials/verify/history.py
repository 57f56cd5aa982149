"""Who could issue what, when: ISSUER_ROLE, organization status and the trust list, read
from Membership's RoleGranted / RoleRevoked / OrganizationStatusChanged logs and the
registry's TrustChanged logs.

`history_logs` reads the logs of a block range; `IssuerHistory` (pure) folds them and
answers what held at the end of a given second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3 import Web3

from ledger_client.chain import rpc_many
from ledger_client.roles import Role

ROLE_GRANTED = "0x" + keccak(text="RoleGranted(bytes32,address,address)").hex()
ROLE_REVOKED = "0x" + keccak(text="RoleRevoked(bytes32,address,address)").hex()
ORGANIZATION_STATUS = "0x" + keccak(text="OrganizationStatusChanged(address,bool)").hex()
TRUST_CHANGED = "0x" + keccak(text="TrustChanged(address,bytes32,bool,uint64)").hex()
_ISSUER_ROLE = "0x" + Role.ISSUER.id.hex()


def history_logs(
    w3: Web3, *, addresses: Sequence[str], first_block: int, last_block: int, chunk_blocks: int
) -> list[dict[str, Any]]:
    """The history's logs of blocks `first_block`..`last_block` emitted by `addresses`, in
    one JSON-RPC batch of `eth_getLogs` of at most `chunk_blocks` blocks each, every log
    with its `blockTimestamp` (read from its block where the node leaves it out)."""
    calls = [
        (
            "eth_getLogs",
            [
                {
                    "address": list(addresses),
                    "topics": [[ROLE_GRANTED, ROLE_REVOKED, ORGANIZATION_STATUS, TRUST_CHANGED]],
                    "fromBlock": hex(start),
                    "toBlock": hex(min(start + chunk_blocks - 1, last_block)),
                }
            ],
        )
        for start in range(first_block, last_block + 1, chunk_blocks)
    ]
    logs = [log for chunk in rpc_many(w3, calls) for log in chunk]
    untimed = sorted({log["blockNumber"] for log in logs if "blockTimestamp" not in log})
    if untimed:
        blocks = rpc_many(w3, [("eth_getBlockByNumber", [number, False]) for number in untimed])
        times = {n: b["timestamp"] for n, b in zip(untimed, blocks, strict=True)}
        logs = [{**log, "blockTimestamp": times.get(log["blockNumber"])} for log in logs]
    return logs


@dataclass(frozen=True)
class IssuerHistory:
    """ISSUER_ROLE grants and revocations and organization (de)activations per account, and
    trust list changes per (account, type hash), in chain order, as (block timestamp, state
    after), scanned up to block `scanned_to` (timestamp `scanned_at`)."""

    scanned_to: int
    scanned_at: int = 0
    roles: Mapping[str, tuple[tuple[int, bool], ...]] = field(default_factory=dict)
    activity: Mapping[str, tuple[tuple[int, bool], ...]] = field(default_factory=dict)
    trust: Mapping[tuple[str, bytes], tuple[tuple[int, bool], ...]] = field(default_factory=dict)

    def extended(
        self, logs: Iterable[Mapping[str, Any]], *, scanned_to: int, scanned_at: int
    ) -> IssuerHistory:
        roles = {account: list(changes) for account, changes in self.roles.items()}
        activity = {account: list(changes) for account, changes in self.activity.items()}
        trust = {key: list(changes) for key, changes in self.trust.items()}
        for log in sorted(logs, key=_chain_order):
            topics = log["topics"]
            moment = int(log["blockTimestamp"], 16)
            if topics[0] == ORGANIZATION_STATUS:
                account = _topic_address(topics[1])
                activity.setdefault(account, []).append((moment, int(log["data"], 16) != 0))
            elif topics[0] == TRUST_CHANGED:
                key = (_topic_address(topics[1]), bytes.fromhex(topics[2].removeprefix("0x")))
                # data: (bool trusted, uint64 at); the first word is the new trust.
                trust.setdefault(key, []).append((moment, int(log["data"][2:66], 16) != 0))
            elif topics[1] == _ISSUER_ROLE:
                account = _topic_address(topics[2])
                roles.setdefault(account, []).append((moment, topics[0] == ROLE_GRANTED))
        return IssuerHistory(
            scanned_to=scanned_to,
            scanned_at=scanned_at,
            roles={account: tuple(changes) for account, changes in roles.items()},
            activity={account: tuple(changes) for account, changes in activity.items()},
            trust={key: tuple(changes) for key, changes in trust.items()},
        )

    def settles(self, timestamp: int | None) -> bool:
        """Whether the chain has left second `timestamp` behind: no block to come can
        change what held then."""
        return timestamp is not None and timestamp < self.scanned_at

    def role_at(self, account: str, timestamp: int) -> tuple[bool, int | None]:
        """Whether `account` held ISSUER_ROLE at the end of second `timestamp`, and since
        when that was so (None: never changed)."""
        return _state_at(self.roles.get(account, ()), timestamp, default=False)

    def active_at(self, account: str, timestamp: int) -> tuple[bool, int | None]:
        """Whether `account` was not a deactivated organization then (registration makes
        an organization active; an account that is no organization stands on its roles)."""
        return _state_at(self.activity.get(account, ()), timestamp, default=True)

    def trusted_at(self, account: str, type_id: bytes, timestamp: int) -> tuple[bool, int | None]:
        """Whether `account` was on the trust list for type hash `type_id` at the end of
        second `timestamp` (as `CredentialRegistry.trustedAt` answers), and since when."""
        return _state_at(self.trust.get((account, type_id), ()), timestamp, default=False)


def _chain_order(log: Mapping[str, Any]) -> tuple[int, int]:
    return int(log["blockNumber"], 16), int(log["logIndex"], 16)


def _topic_address(topic: str) -> str:
    return to_checksum_address("0x" + topic[-40:])


def _state_at(
    changes: Sequence[tuple[int, bool]], timestamp: int, *, default: bool
) -> tuple[bool, int | None]:
    state, since = default, None
    for moment, after in changes:
        if moment > timestamp:
            break
        state, since = after, moment
    return state, since
