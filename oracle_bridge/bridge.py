"""The running oracle bridge: ingestor, window closer and submitter over one database.

`Bridge.start()` runs the window closer and the submitter in two threads; ingress adapters
call `bridge.ingestor.accept_many` from their own threads. Ingest never waits for the chain
beyond the (cached) device policy, so it keeps working while the chain is down; the
submitter backs off and catches up. A stored reading that may decide a quarantine wakes the
window closer, and every closed window wakes the submitter, so a quarantine reaches the
chain in the next block rather than after the window's age and a polling delay.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col
from web3 import Web3

from ledger_client.chain import CHAIN_UNREACHABLE, chain_refusals, connect, node_is_anvil
from ledger_client.db import checkpoint, make_engine
from ledger_client.deployment import Deployment
from ledger_client.errors import ConfigurationError, LedgerError
from ledger_client.transactions import TransactionSender
from oracle_bridge.conditions import Conditions
from oracle_bridge.config import BridgeSettings
from oracle_bridge.ingest import Ingestor
from oracle_bridge.lease import Lease
from oracle_bridge.native import HotPath, hot_path_from_environment
from oracle_bridge.policy import CalibrationCheck, DevicePolicy, RuleSource
from oracle_bridge.policy.chain import ChainDevicePolicy, ChainRuleSource
from oracle_bridge.readings import ReadingDomain
from oracle_bridge.screening import Screened
from oracle_bridge.store import (
    BRIDGE_SQLITE_CACHE_MIB,
    InboxReading,
    create_bridge_tables,
    reading_session,
)
from oracle_bridge.submitter import Backoff, SubmitReport, Submitter
from oracle_bridge.windows import ClosedWindow, WindowCloser
from oracle_bridge.workers import start_workers

log = logging.getLogger(__name__)

# How soon the submitter looks again for receipts of transactions still unmined.
RECEIPT_RECHECK_S = 0.2
# How often the bridge checkpoints an SQLite database's write-ahead log.
CHECKPOINT_INTERVAL_S = 0.5


@dataclass
class RunReport:
    """What one `Bridge.run_once` did."""

    windows_closed: list[ClosedWindow] = field(default_factory=list)
    submitted: SubmitReport = field(default_factory=SubmitReport)


class Bridge:
    """One oracle bridge: owns its ingestor, window closer, submitter and their threads."""

    def __init__(
        self,
        *,
        engine: Engine,
        w3: Web3,
        deployment: Deployment,
        oracle: LocalAccount,
        policy: DevicePolicy,
        rules: RuleSource,
        settings: BridgeSettings,
        hot_path: HotPath,
        clock: Callable[[], float] = time.time,
    ) -> None:
        create_bridge_tables(engine)
        self.engine = engine
        self.w3 = w3
        self.deployment = deployment
        self.settings = settings
        self.domain = ReadingDomain(
            chain_id=deployment.chain_id,
            verifying_contract=deployment.address("ColdChainCompliance"),
        )
        self.health = Conditions()
        self._stop = threading.Event()
        # Set when there may be work before the next poll: a quarantine, a closed window.
        self._windows_due = threading.Event()
        self._submissions_due = threading.Event()
        # Worker processes: window drafting (and screening where C is missing).
        self.workers = start_workers(settings.workers)
        self.ingestor = Ingestor(
            engine=engine,
            domain=self.domain,
            policy=policy,
            max_message_bytes=settings.max_message_bytes,
            max_future_skew_s=settings.max_future_skew_s,
            pool=self.workers,
            clock=clock,
            on_stored=self._stored,
            health=self.health,
            hot_path=hot_path,
        )
        self.windows = WindowCloser(
            engine=engine,
            rules=rules,
            max_readings=settings.window_max_readings,
            max_age_s=settings.window_max_age_s,
            idle_s=settings.window_idle_s or None,
            idle_min_readings=settings.window_idle_min_readings,
            submission_max_readings=settings.submission_max_readings,
            clock=clock,
            on_closed=self._submissions_due.set,
            drafting=self.workers,
            hot_path=hot_path,
        )
        self.lease = Lease(
            engine,
            # Stable across restarts: a restarted instance takes its lease back at once (the
            # lease is held by this process under the name, see `oracle_bridge.lease`).
            holder=settings.instance_name or f"{socket.gethostname()}:{oracle.address}",
            ttl_s=settings.submitter_lease_s,
            clock=clock,
        )
        self.submitter = Submitter(
            engine=engine,
            lease=self.lease,
            sender=TransactionSender(
                w3, oracle, receipt_timeout_s=settings.ledger.receipt_timeout_s
            ),
            deployment=deployment,
            log_chunk_blocks=settings.ledger.log_chunk_blocks,
            conditions=self.health,
        )
        self._threads: list[threading.Thread] = []

    @classmethod
    def from_settings(
        cls, settings: BridgeSettings | None = None, *, calibration: CalibrationCheck | None = None
    ) -> Bridge:
        """The bridge the settings describe: the node at PROVENANCE_RPC_URL, the deployment
        record under the state directory, the bridge database, the oracle key; the C hot
        path unless PROVENANCE_NATIVE=0 (the one place that reads it).

        Raises:
            ChainUnavailable, DeploymentError, ConfigurationError: with what to fix.
        """
        settings = settings or BridgeSettings()
        ledger = settings.ledger
        w3 = connect(ledger.rpc_url, timeout_s=ledger.rpc_timeout_s)
        deployment = Deployment.load(ledger.deployment_path)
        deployment.check_chain(w3)
        settings.require_real_key(local_anvil=node_is_anvil(w3))
        rules = ChainRuleSource(w3, deployment, cache_s=settings.policy_cache_s)
        return cls(
            engine=make_engine(
                settings.resolved_database_url,
                sqlite_cache_mib=BRIDGE_SQLITE_CACHE_MIB,
                variable="PROVENANCE_BRIDGE_DATABASE_URL",
            ),
            w3=w3,
            deployment=deployment,
            oracle=Account.from_key(settings.oracle_private_key.get_secret_value()),
            policy=ChainDevicePolicy(
                w3,
                deployment,
                rules=rules,
                calibration=calibration,
                cache_s=settings.policy_cache_s,
            ),
            rules=rules,
            settings=settings,
            hot_path=hot_path_from_environment(),
        )

    def run_once(self) -> RunReport:
        """Close the due windows, then send until nothing more can go (deterministic tests)."""
        closed = self.windows.close_due()
        return RunReport(windows_closed=closed, submitted=self.submitter.drain())

    def start(self) -> None:
        """Start the window-closing and submitting threads, and on SQLite the checkpointing
        one (ingest needs none)."""
        if self._threads:
            raise RuntimeError("the bridge is already running")
        self._claim_lease()
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._close_windows, name="bridge-windows", daemon=True),
            threading.Thread(target=self._submit, name="bridge-submitter", daemon=True),
        ]
        if self.engine.dialect.name == "sqlite":
            self._threads.append(
                threading.Thread(target=self._checkpoint, name="bridge-checkpoint", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def _claim_lease(self) -> None:
        """Refuse to start beside a live process of the same instance name that holds the
        submitter lease; else take the lease if it is free (so a namesake started later is
        refused in turn).

        Raises:
            ConfigurationError: naming the other process and the setting to change.
        """
        namesake = self.lease.namesake()
        if namesake is not None:
            raise ConfigurationError(
                f"another bridge process runs as instance {self.lease.name!r} and holds the"
                f" submitter lease ({namesake}): stop it, or give this instance a name of its own"
                " with PROVENANCE_BRIDGE_INSTANCE_NAME (if it ended on another host, its lease"
                f" expires within {self.lease.ttl_s:g} s)"
            )
        try:
            self.lease.hold()
        except SQLAlchemyError:
            log.warning("could not take the submitter lease at start; the submitter retries")

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the threads after their current step (nothing is lost: rows stay pending)."""
        self._stop.set()
        self._windows_due.set()
        self._submissions_due.set()
        for thread in self._threads:
            thread.join(timeout_s)
        if self._threads:
            try:
                self.lease.release()
            except SQLAlchemyError:
                log.warning("could not give up the submitter lease; it expires on its own")
        self._threads = []

    def close(self) -> None:
        """Stop the threads, then the worker processes (no ingest after this)."""
        self.stop()
        if self.workers is not None:
            self.workers.shutdown()
            self.workers = None

    def __enter__(self) -> Bridge:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _stored(self, readings: Sequence[Screened]) -> None:
        if self.windows.notice(readings):
            self._windows_due.set()

    @staticmethod
    def _wait(event: threading.Event, timeout_s: float) -> None:
        event.wait(timeout_s)
        event.clear()

    def _close_windows(self) -> None:
        # A pass at once (a restarted bridge's backlog), then whenever the next window comes
        # of age, a reading may decide a quarantine, or a poll interval has passed.
        while not self._stop.is_set():
            try:
                self.windows.close_due()
            except SQLAlchemyError as exc:  # the store is down or full: expected, one line
                log.warning("closing windows failed, the database: %s; retrying", _gist(exc))
            except Exception:  # noqa: BLE001 - the loop must outlive any one failure
                log.exception("closing windows failed; retrying")
            until_due = self.windows.seconds_until_due()
            poll = self.settings.poll_interval_s
            self._wait(self._windows_due, poll if until_due is None else min(poll, until_due))

    def _submit(self) -> None:
        backoff = Backoff(self.settings.chain_backoff_min_s, self.settings.chain_backoff_max_s)
        delay, failing = self.settings.poll_interval_s, False
        while not self._stop.is_set():
            if failing:  # closed windows do not cut a backoff short
                self._stop.wait(delay)
            else:
                self._wait(self._submissions_due, delay)
            if self._stop.is_set():
                return
            try:
                # Receipts are recorded by later passes: what becomes due meanwhile goes out.
                report = self.submitter.run_once(wait=False)
            except CHAIN_UNREACHABLE as exc:
                delay, failing = backoff.failed(), True
                log.warning("the chain did not answer (%s); retry in %.1fs", exc, delay)
                continue
            except LedgerError as exc:  # a refusal (ChainRejected), a receipt timeout: no outage
                delay, failing = backoff.failed(), True
                log.warning("the chain refused the submitter (%s); retry in %.1fs", exc, delay)
                continue
            except SQLAlchemyError as exc:  # the store is down or full: expected, one line
                delay, failing = backoff.failed(), True
                log.warning(
                    "submitting failed, the database: %s; retry in %.1fs", _gist(exc), delay
                )
                continue
            except Exception:  # noqa: BLE001 - the loop must outlive any one failure
                delay, failing = backoff.failed(), True
                log.exception("submitting failed; retry in %.1fs", delay)
                continue
            backoff.succeeded()
            failing = False
            delay = self.settings.poll_interval_s
            if report.progressed:
                delay = 0.0
            elif report.awaiting_receipts:
                # anvil answers a send before it mines it: look again soon, not a poll later.
                delay = min(delay, RECEIPT_RECHECK_S)

    def _checkpoint(self) -> None:
        # SQLite's WAL, off the writers' path: a commit that had to checkpoint holds up ingest.
        while not self._stop.wait(CHECKPOINT_INTERVAL_S):
            try:
                checkpoint(self.engine)
            except SQLAlchemyError as exc:
                log.warning("checkpointing the bridge database failed: %s; retrying", _gist(exc))

    # -- health (the HTTP app's `/healthz` probe) --------------------------------------------

    def database_reachable(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def chain_reachable(self) -> bool:
        """Whether the chain's node answers.

        Raises:
            ChainRejected: it answers, with a refusal (not an outage).
        """
        try:
            with chain_refusals("eth_blockNumber"):
                self.w3.eth.block_number  # noqa: B018 - the probe itself
        except CHAIN_UNREACHABLE:
            return False
        return True

    def conditions(self) -> dict[str, str]:
        return self.health.current()

    def inbox_backlog(self) -> int:
        """Accepted readings not yet taken into an anchoring window."""
        with reading_session(self.engine) as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(InboxReading)
                    .where(col(InboxReading.window_id).is_(None))
                )
                or 0
            )


def _gist(exc: SQLAlchemyError) -> str:
    """A database failure in one line: the driver's message, without SQLAlchemy's SQL and
    background link (an outage is expected and logged without a traceback)."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
