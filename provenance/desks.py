"""The API's desks at a member node: what it does for the node's organization with that
organization's key (quality's acknowledgements and releases, EPCIS capture), each built from
settings for `provenance.node` to hand in."""

from __future__ import annotations

import logging

from eth_account import Account
from sqlalchemy import Engine
from web3 import Web3

from api.capture import INTERRUPTED_CAPTURE, CaptureDesk, CaptureLimits
from api.config import ApiSettings
from api.quality import QualityDesk
from api.store.capture_jobs import CaptureJobStore
from ledger_client.capture import Capturer
from ledger_client.chain import node_is_anvil
from ledger_client.config import LedgerSettings
from ledger_client.deployment import Deployment
from ledger_client.epcis.validation import Validator
from ledger_client.errors import ConfigurationError
from ledger_client.keys import ANVIL_DEV_KEYS
from ledger_client.ledger import LedgerWriter
from ledger_client.membership import MembershipView
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender

_log = logging.getLogger(__name__)


def quality_desk(
    settings: ApiSettings, *, w3: Web3, deployment: Deployment, dev_chain: bool = False
) -> QualityDesk:
    """The organization's key (PROVENANCE_PRIVATE_KEY) writing quality's acknowledgements and
    releases for the API's QUALITY users of that organization; with `dev_chain` (the embedded
    development chain, answering as a local anvil) also each other development
    organization's key for its own QUALITY users, so every dev token works on the one node.

    Raises:
        ConfigurationError: anvil's public development key on any other chain.
    """
    ledger: LedgerSettings = settings.ledger
    local_anvil = node_is_anvil(w3)
    ledger.require_real_key(local_anvil=local_anvil)
    account = Account.from_key(ledger.private_key.get_secret_value())
    sender = TransactionSender(w3, account, receipt_timeout_s=ledger.receipt_timeout_s)
    dev_writers = {}
    if dev_chain and local_anvil:
        for key in ANVIL_DEV_KEYS:
            member = Account.from_key(key)
            if member.address != account.address:
                dev_writers[member.address] = LedgerWriter(
                    TransactionSender(w3, member, receipt_timeout_s=ledger.receipt_timeout_s),
                    deployment,
                )
        _log.info("dev chain: quality writes of every development organization are signed here")
    return QualityDesk(
        writer=LedgerWriter(sender, deployment),
        account=account.address,
        chain_id=deployment.chain_id,
        dev_writers=dev_writers,
    )


def dev_prefix_governor(w3: Web3, deployment: Deployment) -> LedgerWriter | None:
    """On the embedded dev chain (a local anvil): the writer of the anvil development account
    that governs `deployment`, so capture can assign unowned company prefixes to the capturing
    organization; None on any other node, or when no development account governs."""
    if not node_is_anvil(w3):
        return None
    membership = MembershipView(w3, deployment)
    for key in ANVIL_DEV_KEYS:
        account = Account.from_key(key)
        if membership.has_role(Role.GOVERNOR, account.address):
            return LedgerWriter(TransactionSender(w3, account), deployment)
    return None


def epcis_capture(
    settings: ApiSettings,
    *,
    w3: Web3,
    deployment: Deployment,
    engine: Engine,
    dev_chain: bool = False,
) -> CaptureDesk | None:
    """EPCIS capture as the organization of PROVENANCE_PRIVATE_KEY, its jobs in the API's
    database at `engine` (jobs a stop left RUNNING are marked FAILED first, logged); None
    (no capture, logged) when that key is one of anvil's public ones on another node. With
    `dev_chain` (the wiring says the node runs on the embedded development chain, and the
    node answers as a local anvil), the chain's development governor assigns company
    prefixes no member owns to the capturing organization.

    Raises:
        ConfigurationError: PROVENANCE_API_EPCIS_SCHEMA_DIR holds no official schema.
    """
    jobs = CaptureJobStore(engine)
    for job_id in jobs.fail_running(error=INTERRUPTED_CAPTURE):
        _log.warning("capture job %s was cut off by the node's last stop: marked FAILED", job_id)
    ledger = settings.ledger
    local_anvil = node_is_anvil(w3)
    try:
        ledger.require_real_key(local_anvil=local_anvil)
    except ConfigurationError as exc:
        _log.warning("EPCIS capture is off: %s", exc)
        return None
    sender = TransactionSender(
        w3,
        Account.from_key(ledger.private_key.get_secret_value()),
        receipt_timeout_s=ledger.receipt_timeout_s,
    )
    writer = LedgerWriter(
        sender, deployment, max_tx_bytes=ledger.max_tx_bytes, max_tx_gas=ledger.max_tx_gas
    )
    if settings.epcis_schema_dir is None:
        _log.warning(
            "captured EPCIS documents are checked against the project's schema only: set "
            "PROVENANCE_API_EPCIS_SCHEMA_DIR to GS1's official EPCIS 2.0 JSON Schema folder"
        )
    return CaptureDesk(
        capturer=Capturer(
            writer,
            prefix_governor=dev_prefix_governor(w3, deployment)
            if dev_chain and local_anvil
            else None,
        ),
        jobs=jobs,
        validator=Validator(official_schema_dir=settings.epcis_schema_dir),
        limits=CaptureLimits(
            body_bytes=settings.capture_max_body_bytes, events=settings.capture_max_events
        ),
    )
