"""Typed wrappers of ProvenanceLedger: batches, batched event anchoring, status changes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from web3 import Web3

from ledger_client.batching import (
    filed_event_cost,
    filed_transaction_gas_bound,
    split_by_cost,
    split_events,
    transaction_gas_bound,
)
from ledger_client.calldata import encode_record_events, encode_record_filed_events
from ledger_client.contract_view import ContractView
from ledger_client.deployment import Deployment
from ledger_client.errors import revert_class
from ledger_client.hashing import keccak256
from ledger_client.identifiers import normalize_gtin
from ledger_client.lifecycle import BatchKind, BatchStatus, EventKind, ExcursionHold
from ledger_client.reads import Read
from ledger_client.transactions import GAS_MARGIN, Receipt, TransactionSender


@dataclass(frozen=True)
class BatchState:
    batch_id: bytes
    kind: BatchKind
    status: BatchStatus
    created_at: int
    event_count: int
    product_class: bytes


@dataclass(frozen=True)
class Custody:
    """Who owns a batch and who holds it now (zero addresses when unknown)."""

    owner: str
    custodian: str
    offered_to: str | None


@dataclass(frozen=True)
class FiledEvent:
    """One event to anchor and every lot and item it names.

    `payload` is the event's canonical JSON (as `document_payloads` makes it); `batch_ids`
    the ids of the lots and items it is filed under, in any order (a repeated id counts
    once); `()` anchors it under the sending organization.
    """

    kind: EventKind
    payload: bytes
    batch_ids: tuple[bytes, ...]


@dataclass(frozen=True)
class AnchoredEvents:
    """What one `record_events` or `record_filed_events` call put on chain."""

    receipts: list[Receipt]
    event_count: int

    @property
    def gas_used(self) -> int:
        return sum(r.gas_used for r in self.receipts)


def batch_id_of(uri: str) -> bytes:
    """The on-chain id of a lot or item: keccak256 of its canonical Digital Link URI."""
    return keccak256(uri.encode())


# Transactions per JSON-RPC batch when anchoring: anvil refuses request bodies of a few MB.
SEND_GROUP = 4
# Creations sent per request: small transactions, so a request stays small with many.
CREATE_GROUP = 100
# Calldata of the one simulated call of `record_filed_events` (the default transaction size):
# its stubbed events are small, so it covers far more events than one transaction carries.
SIMULATION_MAX_BYTES = 120_000


class LedgerView(ContractView):
    """ProvenanceLedger's stored state: batches, custody, prefixes; anyone reads it."""

    name = "ProvenanceLedger"

    def prefix_owner(self, prefix: str) -> str | None:
        """The organization that owns the company prefix, None when it is unassigned."""
        owner = self.contract.functions.prefixOwner(prefix).call()
        return None if int(owner, 16) == 0 else owner

    def is_prefix_holder(self, gtin: str, account: str) -> bool:
        """Whether `account` may create batches of `gtin` (it owns the GTIN's company
        prefix or holds it by delegation; its role and the pause aside)."""
        return self.contract.functions.isPrefixHolder(
            int(normalize_gtin(gtin)), Web3.to_checksum_address(account)
        ).call()

    def custody(self, batch_id: bytes) -> Custody:
        owner, custodian = self.contract.functions.custody(batch_id).call()
        offered_to = self.contract.functions.custodyOffer(batch_id).call()
        return Custody(owner, custodian, None if int(offered_to, 16) == 0 else offered_to)

    def is_writer(self, batch_id: bytes, account: str) -> bool:
        """Whether `account` may record the batch's events (its role and the pause aside)."""
        return self.contract.functions.isWriter(batch_id, Web3.to_checksum_address(account)).call()

    def organization_event_count(self, organization: str) -> int:
        """How many events are anchored under the organization itself (naming no batch)."""
        return self.contract.functions.organizationEventCount(
            Web3.to_checksum_address(organization)
        ).call()

    def batch(self, batch_id: bytes) -> BatchState:
        """The batch's stored state (status NONE: no such batch)."""
        return _batch_state(batch_id, self.contract.functions.batch(batch_id).call())

    def excursion_hold(self, batch_id: bytes) -> ExcursionHold:
        """Whether the batch is held by a rule's quarantine, and whether quality acknowledged it."""
        return ExcursionHold(self.contract.functions.excursionHold(batch_id).call())

    def batch_read(self, batch_id: bytes) -> Read[BatchState]:
        """`batch(batch_id)` as a read to send in a batch."""
        call = self._function("batch").read(batch_id)
        return call.then(lambda outputs: _batch_state(batch_id, outputs[0]))


class LedgerWriter(LedgerView):
    """Writes to ProvenanceLedger with one account; reads it as `LedgerView` does."""

    def __init__(
        self,
        sender: TransactionSender,
        deployment: Deployment,
        *,
        max_tx_bytes: int = 120_000,
        max_tx_gas: int = 15_000_000,
    ) -> None:
        super().__init__(sender.w3, deployment)
        self.sender = sender
        self.max_tx_bytes = max_tx_bytes
        self.max_tx_gas = max_tx_gas

    def _encode(self, function: str, *args: object) -> bytes:
        return bytes.fromhex(self.contract.encode_abi(function, args=list(args))[2:])

    def _write(self, function: str, *args: object) -> Receipt:
        return self.sender.transact(self.address, self._encode(function, *args), context=function)

    def create_batch(
        self,
        uri: str,
        *,
        kind: BatchKind = BatchKind.LOT,
        product_class: bytes = b"\x00" * 32,
        parents: Sequence[bytes] = (),
    ) -> bytes:
        """Create a lot or item named by its canonical Digital Link `uri`; returns its id.

        The sender must own the company prefix of the URI's GTIN or hold it by delegation
        (`ProvenanceLedgerNotPrefixHolder` otherwise).
        """
        self._write("createBatch", int(kind), product_class, list(parents), uri)
        return batch_id_of(uri)

    def create_batches(self, batches: Sequence[tuple[str, BatchKind, bytes]]) -> list[bytes]:
        """Create lots and items without parents, each (canonical Digital Link `uri`, kind,
        product class), as `create_batch` does but all sent before any is awaited: one
        block for them all, not one each. Returns their ids in order.

        Each creation is simulated first, so one the contract refuses raises before
        anything is sent.
        """
        calls = []
        for uri, kind, product_class in batches:
            data = self._encode("createBatch", int(kind), product_class, [], uri)
            gas = self.sender.estimate_gas(self.address, data, context="createBatch")
            calls.append((data, int(gas * GAS_MARGIN)))
        tx_hashes = []
        for start in range(0, len(calls), CREATE_GROUP):
            group = calls[start : start + CREATE_GROUP]
            tx_hashes += self.sender.send_many(self.address, group, context="createBatch")
        self.sender.wait(tx_hashes, context="createBatch")
        return [batch_id_of(uri) for uri, _, _ in batches]

    def record_events(
        self,
        batch_id: bytes,
        events: Sequence[tuple[EventKind, bytes]],
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> AnchoredEvents:
        """Anchor `events` (kind, canonical payload) of one batch, many per transaction.

        Transactions are split under the byte and gas budgets, all sent before any is
        awaited (consecutive nonces), then confirmed; a revert raises its custom error.
        """
        if not events:
            raise revert_class("ProvenanceLedgerNoEvents")(
                "ProvenanceLedgerNoEvents",
                {"batchId": "0x" + batch_id.hex()},
                "no events to record",
            )
        kinds = [int(kind) for kind, _ in events]
        payloads = [payload for _, payload in events]
        # One small simulated call reveals an unknown batch, a missing role, the pause
        # or a quarantine before any transaction is sent.
        self.sender.estimate_gas(
            self.address,
            encode_record_events(batch_id, kinds[:1], payloads[:1]),
            context="recordEvents",
        )
        spans = list(
            split_events(payloads, max_tx_bytes=self.max_tx_bytes, max_tx_gas=self.max_tx_gas)
        )
        calls = [
            (
                encode_record_events(
                    batch_id, kinds[span.start : span.stop], payloads[span.start : span.stop]
                ),
                transaction_gas_bound(payloads[span.start : span.stop]),
            )
            for span in spans
        ]
        tx_hashes = []
        # Sent in groups so progress shows and one request body stays a few MB.
        for start in range(0, len(calls), SEND_GROUP):
            group = calls[start : start + SEND_GROUP]
            tx_hashes += self.sender.send_many(self.address, group, context="recordEvents")
            if on_progress:
                on_progress(sum(len(span) for span in spans[start : start + SEND_GROUP]))
        receipts = self.sender.wait(tx_hashes, context="recordEvents")
        return AnchoredEvents(receipts=receipts, event_count=len(events))

    def record_filed_events(
        self,
        events: Sequence[FiledEvent],
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> AnchoredEvents:
        """Anchor `events`, each filed under every lot and item it names, many per transaction.

        The contract checks every batch of every filing as `record_events` checks its batch
        and refuses the whole transaction naming the first batch at fault (unknown,
        destroyed, not the sender's to write, quarantined or recalled for an OTHER event, a
        destruction by a mere writer) or the event's position (empty payload, a destruction
        naming no batch). One simulated call of every event, with its payload cut to one
        byte, raises such a refusal before anything is sent (of as many events as fit one
        transaction's gas budget so stubbed, hundreds; a refusal further on, or one a
        destruction in an earlier transaction causes, is raised from its receipt once the
        transactions before it are in). Transactions are split under the byte and gas
        budgets, all sent, then awaited; an event too large for one transaction raises
        `ValueError` before anything is asked of the chain.
        """
        if not events:
            raise revert_class("ProvenanceLedgerNoEvents")(
                "ProvenanceLedgerNoEvents",
                {"batchId": "0x" + bytes(32).hex()},
                "no events to record",
            )
        kinds = [int(event.kind) for event in events]
        payloads = [event.payload for event in events]
        filings = [_filing(event.batch_ids, position) for position, event in enumerate(events)]
        costs = [filed_event_cost(p, len(f)) for p, f in zip(payloads, filings, strict=True)]
        spans = list(
            split_by_cost(costs, max_tx_bytes=self.max_tx_bytes, max_tx_gas=self.max_tx_gas)
        )
        stubs = [payload[:1] for payload in payloads]
        checked = next(
            split_by_cost(
                [filed_event_cost(stub, len(f)) for stub, f in zip(stubs, filings, strict=True)],
                max_tx_bytes=SIMULATION_MAX_BYTES,
                max_tx_gas=self.max_tx_gas,
            )
        )
        self.sender.estimate_gas(
            self.address,
            encode_record_filed_events(
                kinds[: checked.stop], stubs[: checked.stop], filings[: checked.stop]
            ),
            context="recordFiledEvents",
        )
        calls = [
            (
                encode_record_filed_events(
                    kinds[span.start : span.stop],
                    payloads[span.start : span.stop],
                    filings[span.start : span.stop],
                ),
                filed_transaction_gas_bound(costs[span.start : span.stop]),
            )
            for span in spans
        ]
        tx_hashes = []
        for start in range(0, len(calls), SEND_GROUP):
            group = calls[start : start + SEND_GROUP]
            tx_hashes += self.sender.send_many(self.address, group, context="recordFiledEvents")
            if on_progress:
                on_progress(sum(len(span) for span in spans[start : start + SEND_GROUP]))
        receipts = self.sender.wait(tx_hashes, context="recordFiledEvents")
        return AnchoredEvents(receipts=receipts, event_count=len(events))

    def quarantine(self, batch_id: bytes, reason: str) -> Receipt:
        return self._write("quarantine", batch_id, reason)

    def release(self, batch_id: bytes, reason: str) -> Receipt:
        """As quality: release a quarantined or recalled batch with a non-empty `reason`; a rule's
        quarantine must be acknowledged first (ProvenanceLedgerExcursionNotAcknowledged)."""
        return self._write("release", batch_id, reason)

    def acknowledge_excursion(self, batch_id: bytes, comment: str) -> Receipt:
        """As quality: put on record that the excursion behind the batch's rule quarantine was
        looked at (`comment`, not empty), which lets the batch be released."""
        return self._write("acknowledgeExcursion", batch_id, comment)

    def recall(self, batch_id: bytes, reason: str) -> Receipt:
        return self._write("recall", batch_id, reason)

    def authorize_writer(self, batch_id: bytes, writer: str) -> Receipt:
        """Let `writer` record events of the batch (the sender owns or holds it)."""
        return self._write("authorizeWriter", batch_id, Web3.to_checksum_address(writer))

    def revoke_writer(self, batch_id: bytes, writer: str) -> Receipt:
        return self._write("revokeWriter", batch_id, Web3.to_checksum_address(writer))

    def offer_custody(self, batch_id: bytes, to: str) -> Receipt:
        """Offer the batch the sender holds to `to` (shipping); `to` takes it with
        `accept_custody`."""
        return self._write("offerCustody", batch_id, Web3.to_checksum_address(to))

    def accept_custody(self, batch_id: bytes) -> Receipt:
        """Take custody of a batch offered to the sender (receiving)."""
        return self._write("acceptCustody", batch_id)

    def assign_prefix(self, prefix: str, owner: str) -> Receipt:
        """As the governor: give the GS1 company prefix `prefix` (6-12 digits) to the
        organization `owner`, which alone (with its delegates) creates batches of its GTINs."""
        return self._write("assignPrefix", prefix, Web3.to_checksum_address(owner))

    def delegate_prefix(self, prefix: str, delegate: str) -> Receipt:
        """As the prefix's owner: let `delegate` (a contract manufacturer, say) create
        batches of the prefix's GTINs."""
        return self._write("delegatePrefix", prefix, Web3.to_checksum_address(delegate))

    def revoke_prefix_delegation(self, prefix: str, delegate: str) -> Receipt:
        return self._write("revokePrefixDelegation", prefix, Web3.to_checksum_address(delegate))


def _filing(batch_ids: Sequence[bytes], position: int) -> list[bytes]:
    """The batch ids as the contract takes them: each once, in ascending order."""
    for batch_id in batch_ids:
        if not isinstance(batch_id, bytes) or len(batch_id) != 32:
            raise ValueError(
                f"event {position} is filed under {batch_id!r}: a batch id is 32 bytes "
                "(batch_id_of(uri))"
            )
    return sorted(set(batch_ids))


def _batch_state(batch_id: bytes, record: Sequence) -> BatchState:
    kind, status, created_at, event_count, product_class = record
    return BatchState(
        batch_id, BatchKind(kind), BatchStatus(status), created_at, event_count, product_class
    )
