"""The credential store on SQLite and PostgreSQL: add, look up by hash, subject and type."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect
from sqlmodel import Session

from credentials.errors import InvalidCredential
from credentials.issue import credential_hash
from credentials.store import CredentialRecord, CredentialStore, create_credential_tables
from credentials.types import CredentialType
from tests.credentials.credential_factories import T0, asset, device, issue_sample, subject
from tests.factories import BACKENDS, ScratchDatabases

pytestmark = pytest.mark.integration

TX = "0x" + "5a" * 32


class CredentialDatabases(ScratchDatabases):
    prefix = "credential"

    def create_tables(self, engine: Engine) -> None:
        create_credential_tables(engine)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CredentialStore]:
    with CredentialDatabases.of_backend(request, tmp_path) as databases:
        yield CredentialStore(databases.engine())


def test_the_table_is_called_credential_with_its_columns(store):
    columns = {column["name"] for column in inspect(store.engine).get_columns("credential")}
    assert columns == {
        "credential_hash",
        "type",
        "issuer",
        "subject",
        "issued_at",
        "expires_at",
        "vc",
        "anchor_tx",
        "created_at",
    }
    create_credential_tables(store.engine)  # again: a no-op


def test_a_stored_credential_comes_back_equal_with_its_hash(store):
    vc = issue_sample(CredentialType.CERTIFICATE_OF_ANALYSIS)  # carries a float (99.6)

    digest = store.add(vc, anchor_tx=TX)

    assert digest == credential_hash(vc)
    assert store.get(digest) == vc
    assert credential_hash(store.get(digest)) == digest
    assert store.anchor_tx(digest) == TX
    assert store.get(b"\x01" * 32) is None
    assert store.anchor_tx(b"\x01" * 32) is None
    with Session(store.engine) as session:
        row = session.get(CredentialRecord, "0x" + digest.hex())
        assert row is not None
        assert (row.type, row.issuer, row.subject) == (
            "CertificateOfAnalysis",
            vc["issuer"],
            asset().did,
        )
        assert row.issued_at == T0
        assert row.expires_at == T0 + timedelta(days=365)


def test_lookups_by_subject_type_and_all_are_oldest_first(store):
    later = issue_sample(CredentialType.FIT_FOR_USE, issuance_date=T0 + timedelta(days=2))
    earlier = issue_sample(CredentialType.FIT_FOR_USE, issuance_date=T0 + timedelta(days=1))
    calibration = issue_sample(CredentialType.CALIBRATION_CERTIFICATE)
    for vc in (later, earlier, calibration):
        store.add(vc)

    assert store.of_subject(asset().did) == [earlier, later]
    assert store.of_subject(device().did) == [calibration]
    assert store.of_subject(subject(CredentialType.OPERATOR_QUALIFICATION)) == []
    assert store.of_type("FitForUse") == [earlier, later]
    assert store.of_type("CalibrationCertificate") == [calibration]
    assert store.all() == [calibration, earlier, later]


def test_adding_again_changes_nothing_but_a_newly_known_anchor_tx(store):
    vc = issue_sample(CredentialType.CALIBRATION_CERTIFICATE)
    digest = store.add(vc, anchor_tx=None)
    assert store.anchor_tx(digest) is None

    assert store.add(vc, anchor_tx=TX) == digest
    assert store.add(vc, anchor_tx="0x" + "77" * 32) == digest
    store.add(vc)

    assert store.anchor_tx(digest) == TX
    assert store.all() == [vc]


def test_a_credential_breaking_its_schema_is_not_stored(store):
    vc = issue_sample(CredentialType.CALIBRATION_CERTIFICATE)
    del vc["credentialSubject"]["range"]

    with pytest.raises(InvalidCredential) as info:
        store.add(vc, anchor_tx=TX)

    assert any("range" in problem for problem in info.value.problems)
    assert store.all() == []
