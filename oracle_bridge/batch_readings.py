"""A batch's readings as the bridge stored them, their summary (min, max, mean kinetic
temperature, time out of range, per device) and a reading's Merkle proof checked against the
root anchored on chain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import col, select
from web3 import Web3

from ledger_client.deployment import Deployment
from oracle_bridge.errors import ProofInvalid
from oracle_bridge.mkt import mean_kinetic_temperature, time_out_of_range
from oracle_bridge.proofs import reading_proof, verify_against_chain
from oracle_bridge.readings import Reading
from oracle_bridge.rules import Rule
from oracle_bridge.store import InboxReading, ReadingWindow, reading_session, signed_reading_of

MAX_READINGS_PAGE = 1_000


@dataclass(frozen=True)
class StoredReading:
    """A signed reading in the bridge's inbox; `anchor_tx_hash` None until its window is
    anchored."""

    reading: Reading
    signature: bytes
    anchor_tx_hash: str | None


@dataclass(frozen=True)
class ReadingsPage:
    readings: list[StoredReading]
    total: int


@dataclass(frozen=True)
class DeviceSummary:
    """One device's readings of a batch: temperatures in °C, `seconds_out_of_range` as the
    rule measures excursions (None when the batch's product class has no rule)."""

    device: str
    readings: int
    first_timestamp: int
    last_timestamp: int
    min_c: float
    max_c: float
    mean_kinetic_c: float
    seconds_out_of_range: int | None


@dataclass(frozen=True)
class ProofCheck:
    """A reading's Merkle proof and whether the chain confirms it (`reason` says why not)."""

    reading: Reading
    leaf_index: int
    proof: tuple[bytes, ...]
    merkle_root: bytes
    anchor_tx_hash: str
    anchor_block: int
    verified: bool
    reason: str | None


class BatchReadings:
    """Readings from the bridge's database at `engine`; proofs checked on the chain of `w3`
    and `deployment`; `rule_of(batch_id)` the rule time out of range is measured by."""

    def __init__(
        self,
        engine: Engine,
        *,
        w3: Web3,
        deployment: Deployment,
        rule_of: Callable[[bytes], Rule | None],
    ) -> None:
        self.engine = engine
        self.w3 = w3
        self.deployment = deployment
        self.rule_of = rule_of

    def page(self, batch_id: bytes, *, offset: int, limit: int) -> ReadingsPage:
        """The batch's readings by device then seq, `limit` (at most MAX_READINGS_PAGE) from
        `offset`."""
        if not 1 <= limit <= MAX_READINGS_PAGE or offset < 0:
            raise ValueError(f"limit must be 1..{MAX_READINGS_PAGE} and offset >= 0")
        with reading_session(self.engine) as session:
            total = session.scalar(
                select(func.count())
                .select_from(InboxReading)
                .where(InboxReading.batch_id == batch_id)
            )
            rows: Sequence[Any] = session.execute(
                select(InboxReading, ReadingWindow.tx_hash)
                .outerjoin(ReadingWindow, col(ReadingWindow.id) == InboxReading.window_id)
                .where(InboxReading.batch_id == batch_id)
                .order_by(col(InboxReading.device), col(InboxReading.seq))
                .offset(offset)
                .limit(limit)
            ).all()
        stored = []
        for row, tx_hash in rows:
            signed = signed_reading_of(row)
            stored.append(StoredReading(signed.reading, signed.signature, tx_hash))
        return ReadingsPage(readings=stored, total=total or 0)

    def summary(self, batch_id: bytes) -> list[DeviceSummary]:
        """Per device, what its readings of the batch say; empty when there are none."""
        by_device: dict[str, list[Reading]] = defaultdict(list)
        with reading_session(self.engine) as session:
            for row in session.scalars(
                select(InboxReading).where(InboxReading.batch_id == batch_id)
            ):
                by_device[row.device].append(signed_reading_of(row).reading)
        if not by_device:
            return []
        rule = self.rule_of(batch_id)
        return [
            DeviceSummary(
                device=device,
                readings=len(readings),
                first_timestamp=min(r.timestamp for r in readings),
                last_timestamp=max(r.timestamp for r in readings),
                min_c=min(r.temp_milli_c for r in readings) / 1000,
                max_c=max(r.temp_milli_c for r in readings) / 1000,
                mean_kinetic_c=round(mean_kinetic_temperature(readings), 3),
                seconds_out_of_range=time_out_of_range(readings, rule) if rule else None,
            )
            for device, readings in sorted(by_device.items())
        ]

    def proof(self, device: str, seq: int) -> ProofCheck:
        """Reading `seq` of `device` with its proof, checked against the chain.

        Raises:
            ReadingNotFound: no such reading.
            ReadingNotAnchored: its window is not anchored yet.
        """
        proof = reading_proof(self.engine, device=device, seq=seq)
        reason: str | None = None
        try:
            verify_against_chain(self.w3, self.deployment, proof)
        except ProofInvalid as exc:
            reason = str(exc)
        return ProofCheck(
            reading=proof.signed.reading,
            leaf_index=proof.leaf_index,
            proof=proof.proof,
            merkle_root=proof.merkle_root,
            anchor_tx_hash=proof.anchor_tx_hash,
            anchor_block=proof.anchor_block,
            verified=reason is None,
            reason=reason,
        )
