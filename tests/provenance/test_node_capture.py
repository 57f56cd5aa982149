"""The node's EPCIS wiring: capture as the organization of PROVENANCE_PRIVATE_KEY, and the
dev-only prefix assignment turned on for a local anvil alone, never on another node."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from eth_account import Account
from pydantic import SecretStr

from api.capture import INTERRUPTED_CAPTURE
from api.config import ApiSettings
from api.store.capture_jobs import CaptureJobStore
from api.store.database import create_api_tables
from ledger_client.chain import connect
from ledger_client.config import LedgerSettings
from ledger_client.db import make_engine
from ledger_client.epcis_query.archive import EventArchive
from ledger_client.identifiers import DigitalLink
from provenance.desks import dev_prefix_governor, epcis_capture
from provenance.node import read_model_engine
from tests.factories import Consortium

pytestmark = pytest.mark.integration


def _settings(key: str, tmp_path: Path) -> ApiSettings:
    return ApiSettings(
        ledger=LedgerSettings(private_key=SecretStr(key), state_dir=tmp_path),
        capture_max_events=7,
    )


@pytest.fixture
def api_engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    create_api_tables(engine)
    yield engine
    engine.dispose()


def test_on_the_dev_chain_the_governor_assigns_unowned_prefixes(
    consortium: Consortium, tmp_path, api_engine
):
    c = consortium
    settings = _settings("0x" + bytes(c.operator.key).hex(), tmp_path)
    plain = epcis_capture(settings, w3=c.w3, deployment=c.deployment, engine=api_engine)
    assert plain is not None and plain.capturer.prefix_governor is None, "an explicit option"
    desk = epcis_capture(
        settings, w3=c.w3, deployment=c.deployment, engine=api_engine, dev_chain=True
    )
    assert desk is not None
    assert desk.capturer.account == c.operator.address
    assert desk.limits.events == 7
    governor = dev_prefix_governor(c.w3, c.deployment)
    assert governor is not None and governor.sender.account.address == c.governor.address
    lot = DigitalLink.lot("04012345000016", "NODE-1")
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-01T00:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "2026-01-01T00:00:00Z",
                    "eventTimeZoneOffset": "+00:00",
                    "action": "ADD",
                    "quantityList": [{"epcClass": lot.uri, "quantity": 1}],
                }
            ]
        },
    }
    job = desk.jobs.start(organization="did:example:node", event_count=1)
    finished = desk.run(job, desk.plan(document))
    assert finished.state == "SUCCESS", finished.errors
    assert c.writer().custody(lot.batch_id).owner == c.operator.address


def test_on_another_node_there_is_no_dev_governor_even_if_asked_nor_capture_with_a_public_key(
    consortium: Consortium, besu_node, tmp_path, api_engine
):
    c = consortium
    w3 = connect(besu_node)
    assert dev_prefix_governor(w3, c.deployment) is None
    public = epcis_capture(
        _settings("0x" + bytes(c.operator.key).hex(), tmp_path),
        w3=w3,
        deployment=c.deployment,
        engine=api_engine,
    )
    assert public is None
    real = epcis_capture(
        _settings("0x" + bytes(Account.create().key).hex(), tmp_path),
        w3=w3,
        deployment=c.deployment,
        engine=api_engine,
        dev_chain=True,
    )
    assert real is not None and real.capturer.prefix_governor is None


def test_a_capture_job_the_last_stop_cut_off_is_failed_at_start_saying_what_to_check(
    consortium: Consortium, tmp_path, api_engine, caplog
):
    c = consortium
    cut_off = CaptureJobStore(api_engine).start(organization="did:example:node", event_count=3)
    with caplog.at_level(logging.WARNING, logger="provenance.desks"):
        desk = epcis_capture(
            _settings("0x" + bytes(c.operator.key).hex(), tmp_path),
            w3=c.w3,
            deployment=c.deployment,
            engine=api_engine,
        )
    assert desk is not None
    job = desk.jobs.get(cut_off.id)
    assert job is not None and (job.state, job.errors) == ("FAILED", [INTERRUPTED_CAPTURE])
    assert "may have been created" in INTERRUPTED_CAPTURE and "EQ_eventID" in INTERRUPTED_CAPTURE
    assert f"capture job {cut_off.id} was cut off" in caplog.text


def test_the_event_archive_reads_the_ledger_s_read_model(consortium: Consortium, tmp_path):
    engine = read_model_engine(LedgerSettings(state_dir=tmp_path))
    assert str(engine.url) == f"sqlite:///{tmp_path / 'read_model.db'}"
    assert EventArchive(engine, consortium.w3, consortium.deployment).event("urn:uuid:x") is None
    engine.dispose()
