"""Issued credentials at rest: the signed VC JSON by its anchored hash, on SQLite or PostgreSQL.

A copy for lookup only: whether a stored credential holds is for `verify` to say, from its
proof and the chain. Instants are timezone-aware UTC datetimes, hashes `0x` + 64
lower-case hex digits.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Engine, Index, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col

from credentials.issue import credential_hash
from credentials.types import parse_instant, require_valid
from ledger_client.db import for_writing

HASH_LENGTH = 66
DID_LENGTH = 200


class CredentialRecord(SQLModel, table=True):
    """One signed credential, keyed by the hash `CredentialRegistry` anchors."""

    __tablename__ = "credential"
    __table_args__ = (
        Index("ix_credential_subject", "subject", "issued_at"),
        Index("ix_credential_type", "type", "issued_at"),
    )

    credential_hash: str = Field(primary_key=True, max_length=HASH_LENGTH)
    type: str = Field(max_length=64)
    issuer: str = Field(max_length=DID_LENGTH)
    subject: str = Field(max_length=DID_LENGTH)
    issued_at: datetime
    expires_at: datetime | None = None
    vc: dict[str, Any] = Field(sa_type=JSON)
    # The transaction that anchored it; None until it is known.
    anchor_tx: str | None = Field(default=None, max_length=HASH_LENGTH)
    created_at: datetime


CREDENTIAL_TABLES = [SQLModel.metadata.tables[CredentialRecord.__tablename__]]


def create_credential_tables(engine: Engine) -> None:
    """Create the credential table (and its indexes) if it does not exist yet."""
    SQLModel.metadata.create_all(engine, tables=CREDENTIAL_TABLES)


class CredentialStore:
    """Signed credentials in the database behind `engine` (see `create_credential_tables`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, vc: Mapping[str, Any], *, anchor_tx: str | None = None) -> bytes:
        """Store a signed credential (again: a no-op, but a newly known `anchor_tx` is kept);
        returns its credential hash.

        Raises:
            InvalidCredential: it breaks its schema (`types.schema_problems`); nothing is
                stored.
        """
        values = _record_values(vc, anchor_tx=anchor_tx)
        try:
            self._upsert(values)
        except IntegrityError:
            # Another writer stored it between our read and our insert: it is there now.
            self._upsert(values)
        return bytes.fromhex(values["credential_hash"][2:])

    def get(self, credential_hash: bytes) -> dict[str, Any] | None:
        """The credential whose hash is `credential_hash`; None when it is not stored."""
        with Session(self.engine) as session:
            record = session.get(CredentialRecord, _hex(credential_hash))
            return dict(record.vc) if record is not None else None

    def anchor_tx(self, credential_hash: bytes) -> str | None:
        """The transaction that anchored the credential, when the store knows it."""
        with Session(self.engine) as session:
            record = session.get(CredentialRecord, _hex(credential_hash))
            return record.anchor_tx if record is not None else None

    def of_subject(self, did: str) -> list[dict[str, Any]]:
        """The credentials about `did`, oldest issued first."""
        return self._select(CredentialRecord.subject == did)

    def of_subjects(self, dids: Collection[str], *, type_name: str) -> list[dict[str, Any]]:
        """The credentials of one type about any of `dids`, oldest issued first (one query)."""
        return self._select(
            col(CredentialRecord.subject).in_(list(dids)), CredentialRecord.type == type_name
        )

    def about(self, dids: Collection[str]) -> list[dict[str, Any]]:
        """The credentials about any of `dids`, oldest issued first (one query)."""
        return self._select(col(CredentialRecord.subject).in_(list(dids)))

    def hashes_about(self, dids: Collection[str]) -> list[bytes]:
        """The anchored hashes of the credentials `about(dids)` gives, in its order: what a
        caller keeping their verdicts asks each time (no credential is read)."""
        query = (
            select(col(CredentialRecord.credential_hash))
            .where(col(CredentialRecord.subject).in_(list(dids)))
            .order_by(col(CredentialRecord.issued_at), col(CredentialRecord.credential_hash))
        )
        with self.engine.connect() as connection:  # no ORM session: asked on every view
            return [bytes.fromhex(digest[2:]) for digest in connection.scalars(query)]

    def of_type(self, credential_type: str) -> list[dict[str, Any]]:
        """The credentials of one type (e.g. "CalibrationCertificate"), oldest issued first."""
        return self._select(CredentialRecord.type == credential_type)

    def all(self) -> list[dict[str, Any]]:
        """Every stored credential, oldest issued first."""
        return self._select()

    def _upsert(self, values: dict[str, Any]) -> None:
        with _writing(self.engine) as session:
            stored = session.get(CredentialRecord, values["credential_hash"])
            if stored is None:
                session.add(CredentialRecord(**values))
            elif values["anchor_tx"] is not None and stored.anchor_tx is None:
                stored.anchor_tx = values["anchor_tx"]

    def _select(self, *conditions: Any) -> list[dict[str, Any]]:
        query = (
            select(col(CredentialRecord.vc))
            .where(*conditions)
            .order_by(col(CredentialRecord.issued_at), col(CredentialRecord.credential_hash))
        )
        with Session(self.engine) as session:
            stored: list[dict[str, Any]] = list(session.scalars(query))
        return [dict(vc) for vc in stored]


def _record_values(vc: Mapping[str, Any], *, anchor_tx: str | None) -> dict[str, Any]:
    require_valid(vc)
    expires = vc.get("expirationDate")
    return {
        "credential_hash": _hex(credential_hash(vc)),
        "type": vc["type"][1],
        "issuer": vc["issuer"],
        "subject": vc["credentialSubject"]["id"],
        "issued_at": parse_instant(vc["issuanceDate"]),
        "expires_at": parse_instant(expires) if expires is not None else None,
        "vc": dict(vc),
        "anchor_tx": anchor_tx,
        "created_at": datetime.now(UTC),
    }


def _hex(credential_hash: bytes) -> str:
    if len(credential_hash) != 32:
        raise ValueError(f"a credential hash is 32 bytes, got {len(credential_hash)}")
    return "0x" + credential_hash.hex()


@contextmanager
def _writing(engine: Engine) -> Iterator[Session]:
    """One write transaction (SQLite: `BEGIN IMMEDIATE`), committed when the block ends."""
    with Session(for_writing(engine), expire_on_commit=False) as session, session.begin():
        yield session
