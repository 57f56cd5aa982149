"""The SQL read model: append-only rows taken from chain logs, each tagged with its block.

Nothing here is mutable state. A batch's current status is its latest `StatusChange`,
its custodian the receiver of its latest `CustodyTransfer`, an organization's activity its
latest `OrganizationStatusChange`, a role holder the latest `RoleAssignment` of that (role,
account); so undoing a reorg is deleting every row above the fork point. Hex values are
lower-case `0x…`; addresses are EIP-55. Enum values are stored by name (`LOT`,
`QUARANTINED`, `INSPECTION`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    Text,
    UniqueConstraint,
    inspect,
    text,
)
from sqlmodel import Field, SQLModel

from ledger_client.db import schema_change, table_of
from ledger_client.indexer.genealogy import EpcisEdge, GenealogyLink, TransformationPort

HASH_LENGTH = 66
ADDRESS_LENGTH = 42


def _hash(**kwargs: Any) -> Any:
    return Field(max_length=HASH_LENGTH, **kwargs)


def _address(**kwargs: Any) -> Any:
    return Field(max_length=ADDRESS_LENGTH, **kwargs)


def _block_number(**kwargs: Any) -> Any:
    return Field(sa_type=BigInteger, **kwargs)


class Batch(SQLModel, table=True):
    """A lot or serialized item, created once (`BatchCreated`)."""

    __tablename__ = "batch"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index", name="uq_batch_log"),
        Index("ix_batch_block", "block_number", "log_index"),
        # A product's lots are a range of URIs (the resolver's walk-up lists them).
        Index("ix_batch_uri", "uri"),
    )

    batch_id: str = _hash(primary_key=True)
    uri: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(max_length=16)
    product_class: str = _hash(index=True)
    creator: str = _address(index=True)
    block_number: int = _block_number()
    tx_hash: str = _hash()
    log_index: int


class BatchParent(SQLModel, table=True):
    """Genealogy: `child_id` was made from `parent_id` (transformation / aggregation)."""

    __tablename__ = "batch_parent"
    __table_args__ = (
        Index("ix_batch_parent_parent", "parent_id"),
        Index("ix_batch_parent_block", "block_number", "log_index"),
    )

    child_id: str = _hash(primary_key=True)
    parent_id: str = _hash(primary_key=True)
    block_number: int = _block_number()
    tx_hash: str = _hash()
    log_index: int


class LedgerEvent(SQLModel, table=True):
    """One filing of an anchored EPCIS event (`EventRecorded`) with its payload taken from
    calldata: `batch_id` is the batch it is filed under, or for an event naming no batch
    (`OrganizationEventRecorded`) the recording organization's `organization_key`. An event
    filed under several batches has one row per batch, each its own proof (see
    `event_rows`); `epcis_event` and its tables hold it once, under its first filing."""

    __tablename__ = "ledger_event"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index", name="uq_ledger_event_log"),
        Index("ix_ledger_event_block", "block_number", "log_index"),
    )

    batch_id: str = _hash(primary_key=True)
    event_index: int = Field(primary_key=True, sa_type=BigInteger)
    payload_hash: str = _hash(index=True)
    kind: str = Field(max_length=16)
    recorder: str = _address(index=True)
    block_number: int = _block_number()
    block_hash: str = _hash()
    tx_hash: str = _hash()
    log_index: int
    position: int
    # Canonical JSON exactly as anchored; NULL only when calldata could not be decoded.
    payload: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    event_type: str | None = Field(default=None, max_length=64, index=True)
    # In UTC: timestamptz on PostgreSQL, read back as aware UTC from SQLite too.
    event_time: datetime | None = Field(default=None, index=True)
    biz_step: str | None = Field(default=None, max_length=255, index=True)


class StatusChange(SQLModel, table=True):
    """A batch's status move (`BatchStatusChanged`); a batch without one is ACTIVE."""

    __tablename__ = "status_change"
    __table_args__ = (
        Index("ix_status_change_batch", "batch_id", "block_number", "log_index"),
        Index("ix_status_change_block", "block_number", "log_index"),
    )

    tx_hash: str = _hash(primary_key=True)
    log_index: int = Field(primary_key=True)
    batch_id: str = _hash()
    from_status: str = Field(max_length=16)
    to_status: str = Field(max_length=16)
    changed_by: str = _address(index=True)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    block_number: int = _block_number()
    # Unix seconds; NULL in rows indexed before the column existed (until a rebuild).
    block_time: int | None = Field(default=None, sa_type=BigInteger, nullable=True)


class SubjectBinding(SQLModel, table=True):
    """A DID bound to a ledger entity by CredentialRegistry (`SubjectBound`): a lot's or an
    item's asset DID, so the credentials about it can be found. The DID's latest binding
    holds."""

    __tablename__ = "subject_binding"
    __table_args__ = (
        Index("ix_subject_binding_entity", "entity_id", "block_number", "log_index"),
        Index("ix_subject_binding_did", "did", "block_number", "log_index"),
        Index("ix_subject_binding_block", "block_number", "log_index"),
    )

    tx_hash: str = _hash(primary_key=True)
    log_index: int = Field(primary_key=True)
    entity_id: str = _hash()
    did: str = Field(max_length=255)
    bound_by: str = _address()
    block_number: int = _block_number()


class ExcursionAcknowledgement(SQLModel, table=True):
    """Quality acknowledging the excursion behind a rule quarantine (`ExcursionAcknowledged`),
    at `block_time` (Unix seconds)."""

    __tablename__ = "excursion_acknowledgement"
    __table_args__ = (
        Index("ix_excursion_acknowledgement_batch", "batch_id", "block_number", "log_index"),
        Index("ix_excursion_acknowledgement_block", "block_number", "log_index"),
    )

    tx_hash: str = _hash(primary_key=True)
    log_index: int = Field(primary_key=True)
    batch_id: str = _hash()
    acknowledged_by: str = _address(index=True)
    comment: str = Field(sa_column=Column(Text, nullable=False))
    block_number: int = _block_number()
    block_time: int = Field(sa_type=BigInteger)


class RuleQuarantine(SQLModel, table=True):
    """ColdChainCompliance's evidence for a quarantine it made (`ExcursionQuarantine`): the
    rule version, the device and the seq of the breaching reading, the decision's name. Its
    transaction holds the quarantine's `status_change` row too."""

    __tablename__ = "rule_quarantine"
    __table_args__ = (
        Index("ix_rule_quarantine_batch", "batch_id", "block_number", "log_index"),
        Index("ix_rule_quarantine_block", "block_number", "log_index"),
    )

    tx_hash: str = _hash(primary_key=True)
    log_index: int = Field(primary_key=True)
    batch_id: str = _hash()
    rule_version: int
    device: str = _address(index=True)
    seq: int = Field(sa_type=BigInteger)
    decision: str = Field(max_length=32)
    block_number: int = _block_number()


class CustodyTransfer(SQLModel, table=True):
    """A batch passing into `to_custodian`'s custody (`CustodyTransferred`): at its creation
    (`from_custodian` NULL) or by a transfer the receiver accepted. `block_time` is the
    block's timestamp (Unix seconds), when the new custodian's custody began."""

    __tablename__ = "custody_transfer"
    __table_args__ = (
        Index("ix_custody_transfer_batch", "batch_id", "block_number", "log_index"),
        Index("ix_custody_transfer_block", "block_number", "log_index"),
    )

    tx_hash: str = _hash(primary_key=True)
    log_index: int = Field(primary_key=True)
    batch_id: str = _hash()
    from_custodian: str | None = _address(default=None)
    to_custodian: str = _address(index=True)
    block_number: int = _block_number()
    block_time: int = Field(sa_type=BigInteger)


class CustodyOffer(SQLModel, table=True):
    """The custodian offering a batch to another organization (`CustodyOffered`);
    `offered_to` NULL when it withdrew the offer. An accepted transfer ends any offer."""

    __tablename__ = "custody_offer"
    __table_args__ = (
        Index("ix_custody_offer_batch", "batch_id", "block_number", "log_index"),
        Index("ix_custody_offer_block", "block_number", "log_index"),
    )

    tx_hash: str = _hash(primary_key=True)
    log_index: int = Field(primary_key=True)
    batch_id: str = _hash()
    offered_by: str = _address()
    offered_to: str | None = _address(default=None)
    block_number: int = _block_number()


class Organization(SQLModel, table=True):
    """A consortium member (`OrganizationRegistered`); registered once per account."""

    __tablename__ = "organization"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index", name="uq_organization_log"),
        Index("ix_organization_block", "block_number", "log_index"),
    )

    account: str = _address(primary_key=True)
    did: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    block_number: int = _block_number()
    tx_hash: str = _hash()
    log_index: int


class OrganizationStatusChange(SQLModel, table=True):
    """An organization (de)activated (`OrganizationStatusChanged`); registered means active."""

    __tablename__ = "organization_status_change"
    __table_args__ = (
        Index("ix_organization_status_change_account", "account", "block_number", "log_index"),
        Index("ix_organization_status_change_block", "block_number", "log_index"),
    )

    tx_hash: str = _hash(primary_key=True)
    log_index: int = Field(primary_key=True)
    account: str = _address()
    active: bool
    block_number: int = _block_number()


class RoleAssignment(SQLModel, table=True):
    """A role granted or revoked (AccessControl `RoleGranted` / `RoleRevoked`)."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        Index("ix_role_assignment_role", "role_id", "account", "block_number", "log_index"),
        Index("ix_role_assignment_block", "block_number", "log_index"),
    )

    tx_hash: str = _hash(primary_key=True)
    log_index: int = Field(primary_key=True)
    role: str | None = Field(default=None, max_length=64)  # NULL for an id we have no name for
    role_id: str = _hash()
    account: str = _address(index=True)
    granted: bool
    sender: str = _address()
    block_number: int = _block_number()


def _query_text(**kwargs: Any) -> Any:
    return Field(default=None, sa_column=Column(Text, nullable=True, **kwargs))


def _query_time(**kwargs: Any) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True, **kwargs))


class EpcisEvent(SQLModel, table=True):
    """What the EPCIS query selects a `LedgerEvent` by, one row per event: its single-valued
    fields, as `ledger_client.epcis_query.extraction` reads them at index time. An anchored
    payload that is not an EPCIS event (no type or eventTime) has none and is never queried.
    `record_time` is the payload's, else the block's time. Vocabulary values are bare words
    when written as GS1 Web URIs; times are UTC."""

    __tablename__ = "epcis_event"
    __table_args__ = (
        Index("ix_epcis_event_block", "block_number", "log_index"),
        Index("ix_epcis_event_event_time", "event_time", "block_number", "log_index"),
        Index("ix_epcis_event_record_time", "record_time", "block_number", "log_index"),
    )

    batch_id: str = _hash(primary_key=True)
    event_index: int = Field(primary_key=True, sa_type=BigInteger)
    block_number: int = _block_number()
    log_index: int
    event_type: str = Field(sa_column=Column(Text, nullable=False, index=True))
    event_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    event_time_zone_offset: str | None = _query_text()
    record_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    event_id: str | None = _query_text(index=True)
    action: str | None = _query_text(index=True)
    biz_step: str | None = _query_text(index=True)
    disposition: str | None = _query_text(index=True)
    read_point: str | None = _query_text(index=True)
    biz_location: str | None = _query_text(index=True)
    transformation_id: str | None = _query_text(index=True)
    error_declared: bool = Field(default=False)
    error_declaration_time: datetime | None = _query_time(index=True)
    error_reason: str | None = _query_text(index=True)


class EpcisTerm(SQLModel, table=True):
    """One value of an event's many-valued fields (`extraction.Term`): identifiers, quantities,
    business transactions, sources, destinations, persistent dispositions, corrective event
    ids, extension fields by scope and expanded name."""

    __tablename__ = "epcis_term"
    __table_args__ = (
        Index("ix_epcis_term_text", "field", "text"),
        Index("ix_epcis_term_canonical", "field", "canonical"),
        Index("ix_epcis_term_number", "field", "number"),
        Index("ix_epcis_term_event", "batch_id", "event_index"),
        Index("ix_epcis_term_block", "block_number"),
    )

    batch_id: str = _hash(primary_key=True)
    event_index: int = Field(primary_key=True, sa_type=BigInteger)
    ordinal: int = Field(primary_key=True)
    block_number: int = _block_number()
    field: str = Field(sa_column=Column(Text, nullable=False))
    qualifier: str | None = _query_text()
    text: str | None = _query_text()
    canonical: str | None = _query_text()
    number: float | None = Field(default=None, sa_type=Float)
    uom: str | None = _query_text()
    time: datetime | None = _query_time()


class EpcisSensorReport(SQLModel, table=True):
    """One sensorReport of an event, with its sensorMetadata's device, times and rules."""

    __tablename__ = "epcis_sensor_report"
    __table_args__ = (
        Index("ix_epcis_sensor_report_event", "batch_id", "event_index"),
        Index("ix_epcis_sensor_report_block", "block_number"),
        Index("ix_epcis_sensor_report_type", "type", "uom"),
    )

    batch_id: str = _hash(primary_key=True)
    event_index: int = Field(primary_key=True, sa_type=BigInteger)
    ordinal: int = Field(primary_key=True)
    block_number: int = _block_number()
    type: str | None = _query_text()
    device_id: str | None = _query_text(index=True)
    data_processing_method: str | None = _query_text()
    microorganism: str | None = _query_text()
    chemical_substance: str | None = _query_text()
    biz_rules: str | None = _query_text()
    string_value: str | None = _query_text()
    hex_binary_value: str | None = _query_text()
    uri_value: str | None = _query_text()
    boolean_value: bool | None = None
    value: float | None = Field(default=None, sa_type=Float)
    min_value: float | None = Field(default=None, sa_type=Float)
    max_value: float | None = Field(default=None, sa_type=Float)
    mean_value: float | None = Field(default=None, sa_type=Float)
    s_dev: float | None = Field(default=None, sa_type=Float)
    perc_value: float | None = Field(default=None, sa_type=Float)
    uom: str | None = _query_text()
    time: datetime | None = _query_time()
    start_time: datetime | None = _query_time(index=True)
    end_time: datetime | None = _query_time(index=True)


class IndexedBlock(SQLModel, table=True):
    """The hash of each block that produced rows, and of the checkpoint's block.

    The reorg check walks these back to the newest block the node still agrees with.
    A checkpoint's block that produced no rows is dropped when the checkpoint moves on,
    so the table depends only on the chain, not on how indexing was chunked.
    """

    __tablename__ = "indexed_block"

    number: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    hash: str = _hash()
    has_rows: bool


class Checkpoint(SQLModel, table=True):
    """The last block whose logs are all in the read model."""

    __tablename__ = "checkpoint"

    name: str = Field(primary_key=True, max_length=128)
    block_number: int = _block_number()
    block_hash: str = _hash()


LOG_TABLES = (
    Batch,
    BatchParent,
    LedgerEvent,
    StatusChange,
    ExcursionAcknowledgement,
    RuleQuarantine,
    SubjectBinding,
    CustodyTransfer,
    CustodyOffer,
    Organization,
    OrganizationStatusChange,
    RoleAssignment,
    EpcisEvent,
    EpcisTerm,
    EpcisSensorReport,
    EpcisEdge,
    TransformationPort,
    GenealogyLink,
)
READ_MODEL_TABLES = [table_of(model) for model in (*LOG_TABLES, IndexedBlock, Checkpoint)]


def create_read_model(engine: Engine) -> None:
    """Create the read model's tables (and indexes) that do not exist yet, and add the
    columns and indexes later versions gave existing tables (`status_change.block_time`,
    `ix_batch_uri`)."""
    with schema_change(engine) as connection:
        SQLModel.metadata.create_all(connection, tables=READ_MODEL_TABLES)
        for index in table_of(Batch).indexes:
            index.create(connection, checkfirst=True)
        columns = {c["name"] for c in inspect(connection).get_columns("status_change")}
        if "block_time" not in columns:
            connection.execute(text("ALTER TABLE status_change ADD COLUMN block_time BIGINT"))


def drop_read_model(engine: Engine) -> None:
    """Drop every read model table; other tables in the same database stay."""
    with schema_change(engine) as connection:
        SQLModel.metadata.drop_all(connection, tables=READ_MODEL_TABLES)
