"""The bridge's front door: verify one raw signed reading and store it durably, or dead-letter it.

Ingress adapters (MQTT, HTTP, the CLI) call `Ingestor.accept` and acknowledge their sender
only after it returned. The checks run cheapest first — size, JSON, signature, clock,
device policy, sequence — and every rejection is kept verbatim in the dead letters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, Engine, bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError

from ledger_client.indexer.database import for_writing
from oracle_bridge.errors import DeviceRefused, InvalidSignature, MalformedReading
from oracle_bridge.packing import INT24_MAX, INT24_MIN
from oracle_bridge.policy import DevicePolicy
from oracle_bridge.readings import Reading, ReadingDomain, SignedReading, digest, from_json
from oracle_bridge.store import MAX_STORED_INT, DeadLetter, InboxReading
from oracle_bridge.verification import recover_signer

# Core statements built once: the ORM's per-call overhead is ~10x the SQLite work here.
_INBOX = InboxReading.__table__  # type: ignore[attr-defined]
_SAME_SEQ = select(_INBOX.c.digest).where(
    _INBOX.c.device == bindparam("device"), _INBOX.c.seq == bindparam("seq")
)
_LATEST_OF_DEVICE = (
    select(_INBOX.c.seq, _INBOX.c.batch_id, _INBOX.c.timestamp, _INBOX.c.digest)
    .where(_INBOX.c.device == bindparam("device"))
    .order_by(_INBOX.c.seq.desc())
    .limit(1)
)
_INSERT_READING = insert(_INBOX)
_INSERT_DEAD_LETTER = insert(DeadLetter.__table__)  # type: ignore[attr-defined]
_LOCK_DEVICE = text("SELECT pg_advisory_xact_lock(:key)")

SIGNATURE_MISMATCH = "signature does not match device (signed for another chain or contract?)"


@dataclass(frozen=True)
class IngestResult:
    """What became of one raw reading. `reason` is set when rejected; `device` and `seq`
    once the payload parsed."""

    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None
    device: str | None = None
    seq: int | None = None


class _Rejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Ingestor:
    """Verifies signed readings against one ColdChainCompliance domain and stores them.

    Thread-safe: concurrent `accept` calls serialize per device in the database.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        domain: ReadingDomain,
        policy: DevicePolicy,
        max_message_bytes: int = 4096,
        max_future_skew_s: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.domain = domain
        self.policy = policy
        self.max_message_bytes = max_message_bytes
        self.max_future_skew_s = max_future_skew_s
        self._clock = clock
        self._writer = for_writing(engine)
        self._postgres = engine.dialect.name == "postgresql"

    def accept(self, raw: bytes, *, source: str) -> IngestResult:
        """Verify `raw` (one signed reading as JSON) and store it in the inbox.

        Returns once the reading is committed to the inbox ("accepted"), was already there
        with the same content ("duplicate": an at-least-once redelivery, to acknowledge
        again), or is committed to the dead letters ("rejected", with the reason).

        Raises:
            ChainUnavailable: the device's registration is unknown and the chain cannot be
                asked; nothing was stored, the sender should retry later.
            sqlalchemy.exc.SQLAlchemyError: the database failed; nothing was stored.
        """
        received_at = self._clock()
        signed: SignedReading | None = None
        try:
            signed = self._parse(raw)
            message_digest = self._verify(signed, now=received_at)
        except _Rejected as rejection:
            reading = signed.reading if signed else None
            with self._writer.begin() as connection:
                self._dead_letter(connection, raw, source, received_at, rejection, reading)
            return IngestResult(
                "rejected",
                rejection.reason,
                reading.device if reading else None,
                reading.seq if reading else None,
            )
        try:
            return self._store(signed, message_digest, raw, source, received_at)
        except IntegrityError:
            # Another process stored the same (device, seq) first: decide against its row.
            return self._store(signed, message_digest, raw, source, received_at)

    def _parse(self, raw: bytes) -> SignedReading:
        if len(raw) > self.max_message_bytes:
            raise _Rejected("oversized", "oversized")
        try:
            signed = from_json(raw)
        except MalformedReading as exc:
            raise _Rejected("malformed", f"malformed: {exc.field} {exc.problem}") from None
        reading = signed.reading
        if reading.seq > MAX_STORED_INT:
            raise _Rejected("malformed", f"malformed: seq {reading.seq} is above 2^63-1")
        if not INT24_MIN <= reading.temp_milli_c <= INT24_MAX:
            raise _Rejected(
                "malformed", f"malformed: tempMilliC {reading.temp_milli_c} is beyond ±8388.607 °C"
            )
        return signed

    def _verify(self, signed: SignedReading, *, now: float) -> bytes:
        reading = signed.reading
        message_digest = digest(reading, domain=self.domain)
        try:
            signer = recover_signer(message_digest, signed.signature)
        except InvalidSignature as exc:
            raise _Rejected("invalid_signature", f"invalid signature: {exc.reason}") from None
        if signer != reading.device:
            raise _Rejected("signature_mismatch", SIGNATURE_MISMATCH)
        if reading.timestamp > now + self.max_future_skew_s:
            raise _Rejected("future_timestamp", "timestamp in the future")
        try:
            self.policy.check(reading.device, reading.batch_id)
        except DeviceRefused as exc:
            raise _Rejected(exc.code, exc.reason) from None
        return message_digest

    def _store(
        self,
        signed: SignedReading,
        message_digest: bytes,
        raw: bytes,
        source: str,
        received_at: float,
    ) -> IngestResult:
        reading = signed.reading
        with self._writer.begin() as connection:
            if self._postgres:
                # SQLite's BEGIN IMMEDIATE already serializes writers.
                key = int.from_bytes(bytes.fromhex(reading.device[2:18]), "big", signed=True)
                connection.execute(_LOCK_DEVICE, {"key": key})
            try:
                self._check_sequence(connection, signed, message_digest)
            except _Rejected as rejection:
                self._dead_letter(connection, raw, source, received_at, rejection, reading)
                return IngestResult("rejected", rejection.reason, reading.device, reading.seq)
            except _Duplicate:
                return IngestResult("duplicate", None, reading.device, reading.seq)
            connection.execute(
                _INSERT_READING,
                {
                    "device": reading.device,
                    "batch_id": reading.batch_id,
                    "seq": reading.seq,
                    "timestamp": reading.timestamp,
                    "temp_milli_c": reading.temp_milli_c,
                    "humidity_permille": reading.humidity_permille,
                    "signature": signed.signature,
                    "digest": message_digest,
                    "received_at": received_at,
                    "source": source,
                },
            )
        return IngestResult("accepted", None, reading.device, reading.seq)

    @staticmethod
    def _check_sequence(
        connection: Connection, signed: SignedReading, message_digest: bytes
    ) -> None:
        reading = signed.reading
        latest = connection.execute(_LATEST_OF_DEVICE, {"device": reading.device}).first()
        if latest is None or latest.seq < reading.seq:
            if latest is not None and latest.batch_id == reading.batch_id:
                if reading.timestamp < latest.timestamp:
                    # The contract would refuse it (TimestampRegression) and stall the state.
                    raise _Rejected(
                        "timestamp_regression", "timestamp before the device's previous reading"
                    )
            return
        same_seq = latest if latest.seq == reading.seq else None
        if same_seq is None:
            same_seq = connection.execute(
                _SAME_SEQ, {"device": reading.device, "seq": reading.seq}
            ).first()
        if same_seq is None:
            raise _Rejected("lower_seq", "lower seq than already accepted")
        if same_seq.digest == message_digest:
            raise _Duplicate
        raise _Rejected("replayed_seq", "replayed seq with different content")

    def _dead_letter(
        self,
        connection: Connection,
        raw: bytes,
        source: str,
        received_at: float,
        rejection: _Rejected,
        reading: Reading | None,
    ) -> None:
        seq = reading.seq if reading is not None else None
        connection.execute(
            _INSERT_DEAD_LETTER,
            {
                "received_at": received_at,
                "source": source,
                # An oversized payload is kept up to the size limit only.
                "payload": raw[: self.max_message_bytes],
                "reason_code": rejection.code,
                "reason": rejection.reason,
                "device": reading.device if reading is not None else None,
                "seq": seq if seq is not None and seq <= MAX_STORED_INT else None,
            },
        )


class _Duplicate(Exception):
    """The same reading is already in the inbox."""
