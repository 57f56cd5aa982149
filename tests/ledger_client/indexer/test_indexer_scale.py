"""100,000 events: the indexer streams them in bounded memory, in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger_client.indexer.read_model import LedgerEvent
from ledger_client.ledger import EventKind
from tests.ledger_client.indexer.indexer_factories import epcis_payload

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).with_name("run_indexer.py")
EVENTS = 100_000
LOTS = 10
MAX_PEAK_MB = 300


def test_indexing_100k_events_stays_under_300_mb(
    anvil, consortium, databases, tmp_path, record_property
):
    writer = consortium.writer()
    for lot_number in range(LOTS):
        lot = writer.create_batch(f"https://id.gs1.org/01/09506000134352/10/SCALE-{lot_number}")
        per_lot = EVENTS // LOTS
        writer.record_events(
            lot, [(EventKind.OTHER, epcis_payload(i, minute=i % 60)) for i in range(per_lot)]
        )
    deployment_path = tmp_path / "deployment.json"
    consortium.deployment.save(deployment_path)
    url = databases.url()
    engine = databases.engine(url)

    finished = subprocess.run(
        [sys.executable, str(SCRIPT), anvil.rpc_url, str(deployment_path), url],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout.splitlines()[-1])
    record_property("indexer_report", report)
    print(f"\n{databases.backend}: {report['events'] / report['seconds']:,.0f} events/s, "
          f"peak {report['peak_rss_mb']} MB")  # fmt: skip
    assert report["events"] == EVENTS
    assert report["peak_rss_mb"] < MAX_PEAK_MB
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LedgerEvent)) == EVENTS
        assert session.scalar(select(func.count()).where(LedgerEvent.payload.is_(None))) == 0
