"""The read model rows of the ledger's, the membership's and the compliance contract's logs
other than anchored events (those are `event_rows`'): one append per decoded log."""

from __future__ import annotations

from typing import Any

from sqlmodel import SQLModel

from ledger_client.indexer.decoding import (
    BatchCreated,
    BatchStatusChanged,
    CustodyOffered,
    CustodyTransferred,
    DecodedLog,
    ExcursionAcknowledged,
    ExcursionQuarantine,
    OrganizationRegistered,
    OrganizationStatusChanged,
    RoleChanged,
    SubjectBound,
)
from ledger_client.indexer.read_model import (
    Batch,
    BatchParent,
    CustodyOffer,
    ExcursionAcknowledgement,
    Organization,
    OrganizationStatusChange,
    RoleAssignment,
    RuleQuarantine,
    StatusChange,
    SubjectBinding,
)


def append_rows(
    rows: dict[type[SQLModel], list[dict[str, Any]]],
    record: DecodedLog,
    *,
    block_time: int | None = None,
) -> None:
    ref = record.ref
    where = {"block_number": ref.block_number, "tx_hash": ref.tx_hash, "log_index": ref.log_index}
    if isinstance(record, BatchCreated):
        rows[Batch].append(
            {
                "batch_id": record.batch_id,
                "uri": record.uri,
                "kind": record.kind.name,
                "product_class": record.product_class,
                "creator": record.creator,
                **where,
            }
        )
        # The contract accepts a parent listed twice; genealogy is a set.
        for parent in dict.fromkeys(record.parents):
            rows[BatchParent].append({"child_id": record.batch_id, "parent_id": parent, **where})
    elif isinstance(record, BatchStatusChanged):
        rows[StatusChange].append(
            {
                "batch_id": record.batch_id,
                "from_status": record.from_status.name,
                "to_status": record.to_status.name,
                "changed_by": record.by,
                "reason": record.reason,
                "block_time": block_time,
                **where,
            }
        )
    elif isinstance(record, ExcursionAcknowledged):
        rows[ExcursionAcknowledgement].append(
            {
                "batch_id": record.batch_id,
                "acknowledged_by": record.by,
                "comment": record.comment,
                "block_time": block_time,
                **where,
            }
        )
    elif isinstance(record, SubjectBound):
        rows[SubjectBinding].append(
            {
                "entity_id": record.entity_id,
                "did": record.did,
                "bound_by": record.bound_by,
                **where,
            }
        )
    elif isinstance(record, ExcursionQuarantine):
        rows[RuleQuarantine].append(
            {
                "batch_id": record.batch_id,
                "rule_version": record.rule_version,
                "device": record.device,
                "seq": record.seq,
                "decision": record.decision,
                **where,
            }
        )
    elif isinstance(record, CustodyOffered):
        rows[CustodyOffer].append(
            {
                "batch_id": record.batch_id,
                "offered_by": record.from_account,
                "offered_to": _account_or_none(record.to_account),
                **where,
            }
        )
    elif isinstance(record, OrganizationRegistered):
        rows[Organization].append(
            {"account": record.account, "did": record.did, "name": record.name, **where}
        )
    elif isinstance(record, OrganizationStatusChanged):
        rows[OrganizationStatusChange].append(
            {"account": record.account, "active": record.active, **where}
        )
    elif isinstance(record, RoleChanged):
        rows[RoleAssignment].append(
            {
                "role": record.role,
                "role_id": record.role_id,
                "account": record.account,
                "granted": record.granted,
                "sender": record.sender,
                **where,
            }
        )


def custody_row(transfer: CustodyTransferred, block_time: int) -> dict[str, Any]:
    return {
        "batch_id": transfer.batch_id,
        "from_custodian": _account_or_none(transfer.from_account),
        "to_custodian": transfer.to_account,
        "block_number": transfer.ref.block_number,
        "block_time": block_time,
        "tx_hash": transfer.ref.tx_hash,
        "log_index": transfer.ref.log_index,
    }


def _account_or_none(account: str) -> str | None:
    """None for the zero address, which the ledger's events use for "nobody"."""
    return None if int(account, 16) == 0 else account
