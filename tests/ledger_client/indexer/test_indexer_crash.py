"""SIGKILL the indexer between writing rows and committing them: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger_client.indexer.indexer import Indexer, rebuild
from ledger_client.indexer.read_model import Checkpoint, LedgerEvent
from tests.ledger_client.indexer.indexer_factories import epcis_payload, export_of, record

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).with_name("run_indexer.py")
LOT = "https://id.gs1.org/01/09506000134352/10/LOT-K"
PER_TX, TXS = 8, 5


def test_sigkill_before_commit_then_restart_loses_and_doubles_nothing(
    anvil, consortium, databases, tmp_path
):
    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    payloads = [epcis_payload(i) for i in range(PER_TX * TXS)]
    for start in range(0, len(payloads), PER_TX):
        record(writer, lot, payloads[start : start + PER_TX])  # one block each
    deployment_path = tmp_path / "deployment.json"
    consortium.deployment.save(deployment_path)
    url = databases.url()
    engine = databases.engine(url)
    marker = tmp_path / "hanging.json"
    stderr = tmp_path / "indexer.stderr"

    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), anvil.rpc_url, str(deployment_path), url,
             "--chunk-blocks", "1", "--hang-at-event-commit", "3", "--marker", str(marker)],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not marker.exists():
                assert process.poll() is None, f"indexer exited early: {stderr.read_text()}"
                assert time.monotonic() < deadline, "the indexer never reached its third commit"
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=10) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    # Killed with the third block's rows written but not committed: only two blocks' worth stay.
    assert json.loads(marker.read_text()) == {"committed": 2 * PER_TX, "uncommitted": 3 * PER_TX}
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LedgerEvent)) == 2 * PER_TX
        checkpoint = session.scalars(select(Checkpoint)).one()
        assert session.scalar(select(func.max(LedgerEvent.block_number))) <= checkpoint.block_number

    restarted = Indexer(consortium.w3, consortium.deployment, engine).run_once()
    assert restarted.start_block == checkpoint.block_number + 1
    assert restarted.events == 3 * PER_TX
    with Session(engine) as session:
        stored = session.scalars(select(LedgerEvent).order_by(LedgerEvent.event_index)).all()
    assert [e.event_index for e in stored] == list(range(len(payloads)))
    assert [e.payload.encode() for e in stored] == payloads

    rebuilt = databases.engine()
    rebuild(consortium.w3, consortium.deployment, rebuilt)
    assert export_of(engine) == export_of(rebuilt)
