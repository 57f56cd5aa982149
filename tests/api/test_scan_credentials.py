"""The credentials on a lot's scan page: found through the DIDs bound to the lot (indexed
from CredentialRegistry) and verified against the chain on every view."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.store.catalogue import ReadModelCatalogue
from credentials.identities import mint_asset_did
from credentials.issue import credential_hash
from credentials.registry import CredentialRegistryClient
from credentials.store import CredentialStore, create_credential_tables
from credentials.types import CredentialType, parse_instant
from credentials.verify import CredentialVerifier
from ledger_client.db import make_engine
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import create_read_model
from ledger_client.roles import Role
from tests.credentials.credential_factories import fit_for_use
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

pytestmark = pytest.mark.integration

GTIN = "09506000134352"
LOT = DigitalLink.lot(GTIN, "CRED-A")
ELSEWHERE = DigitalLink.lot(GTIN, "CRED-B")


@pytest.fixture
def scene(consortium, tmp_path):
    c = consortium
    c.membership().grant_role(Role.ISSUER, c.quality.address)
    governor = CredentialRegistryClient(c.sender(c.governor), c.deployment)
    governor.set_trusted(c.quality.address, CredentialType.FIT_FOR_USE.value, True)
    credential, subject = fit_for_use(c, LOT)
    # A DID first bound to the lot by mistake, then moved by the governor: not the lot's.
    c.writer().create_batch(ELSEWHERE.uri)
    moved = mint_asset_did().did
    CredentialRegistryClient(c.sender(c.operator), c.deployment).bind_subject(moved, LOT.batch_id)
    governor.correct_binding(moved, ELSEWHERE.batch_id)
    read_model = make_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
    create_read_model(read_model)
    store_engine = make_engine(f"sqlite:///{tmp_path / 'credentials.db'}")
    create_credential_tables(store_engine)
    store = CredentialStore(store_engine)
    store.add(credential)
    app = create_app(
        FakeIngestor(),
        catalogue=ReadModelCatalogue(read_model),
        credential_store=store,
        credential_verifier=CredentialVerifier(c.w3, c.deployment),
    )
    indexer = Indexer(c.w3, c.deployment, read_model)
    indexer.run_once()
    try:
        yield TestClient(app), ReadModelCatalogue(read_model), subject, moved, indexer
    finally:
        read_model.dispose()
        store_engine.dispose()


def test_the_lots_bound_dids_are_indexed_by_their_latest_binding(scene):
    _, catalogue, subject, moved, _ = scene
    assert catalogue.record(LOT).subjects == [subject]
    assert catalogue.record(ELSEWHERE).subjects == [moved]


def test_the_page_shows_each_credential_with_its_live_status(scene, consortium):
    http, _, _, _, indexer = scene
    page = http.get(f"/scan/01/{GTIN}/10/CRED-A").text
    assert "<h2>Credentials</h2>" in page
    assert ">FitForUse<" in page and "✓ valid" in page
    assert consortium.quality.address in page
    # Quarantining the lot suspends its FitForUse in the same transaction: seen at once.
    consortium.writer(consortium.quality).quarantine(LOT.batch_id, "excursion")
    indexer.run_once()
    page = http.get(f"/scan/01/{GTIN}/10/CRED-A").text
    assert "Status: QUARANTINED" in page
    assert "✗ suspended" in page and "✓ valid" not in page
    assert "Credentials" not in http.get(f"/scan/01/{GTIN}/10/CRED-B").text


def test_a_kept_verdict_follows_a_revocation_and_an_expiry_at_once(scene, consortium):
    http, _, _, _, _ = scene
    page = f"/scan/01/{GTIN}/10/CRED-A"
    assert "✓ valid" in http.get(page).text
    assert "✓ valid" in http.get(page).text  # kept: statuses unchanged
    credentials = http.app.state.lot_credentials
    (record,) = http.app.state.credential_store.about(http.app.state.catalogue.record(LOT).subjects)
    # Past its expirationDate, with the chain's status unchanged: verified again.
    expires = parse_instant(record["expirationDate"]).timestamp()
    credentials._clock = lambda: expires + 1
    http.app.state.credential_verifier._clock = lambda: expires + 1
    assert "✗ expired" in http.get(page).text
    credentials._clock = http.app.state.credential_verifier._clock = time.time
    CredentialRegistryClient(consortium.sender(consortium.quality), consortium.deployment).revoke(
        credential_hash(record), "recalled by the lab"
    )
    assert "✗ revoked" in http.get(page).text
