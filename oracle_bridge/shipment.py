"""What a ColdChainComplianceCredential states about a lot, from the bridge's database alone.

`shipment_summary` gathers the facts of every reading the bridge accepted for a lot: the
extremes, the mean kinetic temperature, the count, the transactions that anchored them, the
rule engine's decisions. `compliance_claims` turns a summary into the credential's claims,
and refuses while the facts cannot back a statement of compliance: an excursion or a
quarantine was decided, a reading is not anchored yet, or the rule engine stopped judging.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from ledger_client.db import table_of
from ledger_client.identifiers import DigitalLink
from oracle_bridge.errors import BridgeError, NoReadings
from oracle_bridge.mkt import mean_kinetic_temperature
from oracle_bridge.readings import Reading
from oracle_bridge.rules import Decision
from oracle_bridge.store import (
    ComplianceSubmission,
    DeviceComplianceState,
    InboxReading,
    ReadingWindow,
    WindowStatus,
    reading_session,
)

_INBOX = table_of(InboxReading)
_WINDOW = table_of(ReadingWindow)
_SUBMISSION = table_of(ComplianceSubmission)
_STATE = table_of(DeviceComplianceState)


class ShipmentNotCertifiable(BridgeError):
    """The bridge's facts about a lot cannot back a statement of cold-chain compliance."""


class ShipmentHadExcursion(ShipmentNotCertifiable):
    """The rule engine decided an excursion or a quarantine for the lot."""


class ShipmentNotAnchored(ShipmentNotCertifiable):
    """Some of the lot's readings are not anchored on chain yet; ask again once they are."""


@dataclass(frozen=True)
class ShipmentSummary:
    """Every reading the bridge accepted for one lot, summarised.

    Temperatures are milli-°C; the MKT is that of the warmest logger (each logger's
    readings make one time series; the lot is as warm as its warmest part). Timestamps are
    the devices' Unix times. `anchor_transactions` are the transactions of the lot's
    anchored windows, in chain order; `decisions` counts every rule-engine decision other
    than NONE; `halted` holds the reasons the rule engine stopped judging a logger.
    """

    lot: str
    batch_id: bytes
    reading_count: int
    unanchored_count: int
    min_temp_milli_c: int
    max_temp_milli_c: int
    mkt_milli_c: int
    first_timestamp: int
    last_timestamp: int
    devices: tuple[str, ...]
    anchor_transactions: tuple[str, ...]
    decisions: tuple[tuple[Decision, int], ...]
    halted: tuple[str, ...]

    @property
    def had_excursion(self) -> bool:
        """Whether the rule engine ever decided an excursion or a quarantine for the lot."""
        return bool(self.decisions)


def shipment_summary(engine: Engine, lot: DigitalLink) -> ShipmentSummary:
    """The facts of every reading the bridge database at `engine` holds for `lot`.

    Raises:
        NoReadings: the bridge holds no reading of the lot.
    """
    batch_id = lot.batch_id
    with reading_session(engine) as session:
        rows = session.execute(
            select(
                _INBOX.c.device,
                _INBOX.c.seq,
                _INBOX.c.timestamp,
                _INBOX.c.temp_milli_c,
                _INBOX.c.humidity_permille,
                _WINDOW.c.status,
            )
            .select_from(_INBOX.outerjoin(_WINDOW, _INBOX.c.window_id == _WINDOW.c.id))
            .where(_INBOX.c.batch_id == batch_id)
            .order_by(_INBOX.c.device, _INBOX.c.seq)
        ).all()
        if not rows:
            raise NoReadings(
                f"the bridge holds no reading of lot {lot.uri}: nothing to summarise; "
                "check the lot and that its loggers send to this bridge"
            )
        anchor_transactions: list[str] = list(
            session.execute(
                select(_WINDOW.c.tx_hash)
                .where(_WINDOW.c.batch_id == batch_id, _WINDOW.c.status == WindowStatus.ANCHORED)
                .group_by(_WINDOW.c.tx_hash)
                .order_by(func.min(_WINDOW.c.block_number), func.min(_WINDOW.c.id))
            ).scalars()
        )
        decided: list[list[int]] = list(
            session.execute(
                select(_SUBMISSION.c.decisions).where(_SUBMISSION.c.batch_id == batch_id)
            ).scalars()
        )
        halted = session.execute(
            select(_STATE.c.device, _STATE.c.halted_reason).where(
                _STATE.c.batch_id == batch_id, _STATE.c.halted_reason.is_not(None)
            )
        ).all()

    decisions = Counter(
        Decision(code) for codes in decided for code in codes if code != Decision.NONE
    )
    series: dict[str, list[Reading]] = {}
    for row in rows:
        series.setdefault(row.device, []).append(
            Reading.stored(
                row.device,
                batch_id,
                row.seq,
                row.timestamp,
                row.temp_milli_c,
                row.humidity_permille,
            )
        )
    temps = [row.temp_milli_c for row in rows]
    low, high = min(temps), max(temps)
    warmest = max(mean_kinetic_temperature(readings) for readings in series.values())
    return ShipmentSummary(
        lot=lot.uri,
        batch_id=batch_id,
        reading_count=len(rows),
        unanchored_count=sum(1 for row in rows if row.status != WindowStatus.ANCHORED),
        min_temp_milli_c=low,
        max_temp_milli_c=high,
        # Float rounding must not put the MKT outside the extremes it lies between.
        mkt_milli_c=min(max(round(warmest * 1000), low), high),
        first_timestamp=min(row.timestamp for row in rows),
        last_timestamp=max(row.timestamp for row in rows),
        devices=tuple(series),
        anchor_transactions=tuple(tx_hash.lower() for tx_hash in anchor_transactions),
        decisions=tuple(sorted(decisions.items())),
        halted=tuple(f"{device}: {reason}" for device, reason in halted),
    )


def compliance_claims(summary: ShipmentSummary) -> dict[str, Any]:
    """The `credentialSubject` claims (all but `id`) of a ColdChainComplianceCredential
    stating `summary`, as `schemas/ColdChainComplianceCredential.json` requires.

    Raises:
        ShipmentHadExcursion: an excursion or quarantine was decided for the lot.
        ShipmentNotCertifiable: the rule engine stopped judging one of its loggers.
        ShipmentNotAnchored: some readings are not anchored on chain yet.
    """
    if summary.had_excursion:
        found = ", ".join(f"{decision.name} ×{count}" for decision, count in summary.decisions)
        raise ShipmentHadExcursion(
            f"lot {summary.lot} had an excursion ({found}): its cold chain cannot be "
            "certified compliant"
        )
    if summary.halted:
        raise ShipmentNotCertifiable(
            f"the rule engine stopped judging readings of lot {summary.lot} "
            f"({'; '.join(summary.halted)}): its cold chain cannot be certified compliant"
        )
    if summary.unanchored_count:
        raise ShipmentNotAnchored(
            f"{summary.unanchored_count} of the {summary.reading_count} readings of lot "
            f"{summary.lot} are not anchored on chain yet: let the bridge anchor them and "
            "ask again"
        )
    return {
        "lot": summary.lot,
        "minTempMilliC": summary.min_temp_milli_c,
        "maxTempMilliC": summary.max_temp_milli_c,
        "mktMilliC": summary.mkt_milli_c,
        # A reading out of range makes the rule engine decide an excursion, refused above.
        "secondsOutOfRange": 0,
        "readingCount": summary.reading_count,
        "anchorTransactions": list(summary.anchor_transactions),
    }
