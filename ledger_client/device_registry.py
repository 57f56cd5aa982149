"""The read side of DeviceRegistry: which devices are registered, to whom, for which batch.

Enrolling and assigning devices (`oracle_bridge.contracts.DeviceRegistryClient`) builds on
this view; the bridge's device policy and the credential verifier read through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from ledger_client.contract_view import ContractView
from ledger_client.reads import Read

# `device(address)` calldata, but for the address's 40 hex digits.
_DEVICE_CALL = "0x" + function_signature_to_4byte_selector("device(address)").hex() + "0" * 24


@dataclass(frozen=True)
class DeviceRecord:
    """A device as DeviceRegistry holds it."""

    account: str
    did: str
    owner: str
    assigned_batch: bytes
    active: bool
    last_seq: int


class DeviceRegistryView(ContractView):
    """The registry's devices; anyone reads them."""

    name = "DeviceRegistry"

    def device(self, account: str) -> DeviceRecord | None:
        """The registered device `account`; None when it is none."""
        record = self.contract.functions.device(Web3.to_checksum_address(account)).call()
        return _registered(account, record)

    def device_read(self, account: str) -> Read[DeviceRecord | None]:
        """`device(account)` (a 0x-prefixed address) as a read to send in a batch; encoded by
        hand, as the bridge reads every device it has not seen lately."""
        call = Read(
            "eth_call",
            [{"to": self.address, "data": _DEVICE_CALL + account[2:]}, "latest"],
            self._function("device").decode,
        )
        return call.then(lambda outputs: _registered(account, outputs[0]))


def _registered(account: str, record: Sequence) -> DeviceRecord | None:
    # registeredAt is the contract's own "registered" flag: block timestamps are never zero.
    did, owner, assigned_batch, active, last_seq, registered_at = record
    if not registered_at:
        return None
    return DeviceRecord(
        account, did, Web3.to_checksum_address(owner), assigned_batch, active, last_seq
    )
