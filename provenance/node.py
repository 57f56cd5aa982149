"""A member node's wiring: the one place that builds a `Bridge`, its ingress, the API app
(bearer tokens, auditor sessions, the access trail and its anchoring schedule, EPCIS capture
and query, the read model's lots and traces, the scan pages, the bridge's readings, metrics),
the credential verifier, the calibration hook and the read model's follower, and serves them
with uvicorn.

Each lower layer defines what it needs as a port (the bridge's `CalibrationCheck`, the
API's auditor-role check and `NodeStatus`); this module builds the implementations and hands
them in. `provenance serve` and `provenance bridge run` run a node.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

import uvicorn
from eth_account import Account
from sqlalchemy import Engine
from web3 import Web3

from api.app import create_app
from api.auditor_sessions import AuditorSessions, auditor_role_holder
from api.config import ApiSettings
from api.principals import chain_standing
from api.rate_limit import RateLimiter
from api.store.catalogue import ReadModelCatalogue
from api.store.database import api_engine
from api.store.tokens import TokenStore
from api.store.trail import TrailStore
from api.trail_anchoring import TrailAnchoring, TrailAnchorSchedule
from credentials.calibration import CredentialCalibrationCheck
from credentials.config import CredentialSettings
from credentials.store import CredentialStore, create_credential_tables
from credentials.verify import CredentialVerifier
from ledger_client.access_trail import AccessTrailClient
from ledger_client.chain import connect, node_is_anvil
from ledger_client.config import LedgerSettings
from ledger_client.db import make_engine
from ledger_client.deployment import Deployment
from ledger_client.epcis_query.archive import EventArchive
from ledger_client.errors import ConfigurationError
from ledger_client.indexer.follower import ReadModelFollower
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.lots import READ_CACHE_MIB, ReadModelLots
from ledger_client.indexer.quarantines import ReadModelQuarantines
from ledger_client.indexer.read_model import create_read_model
from ledger_client.indexer.trace import UnknownObject
from ledger_client.transactions import TransactionSender
from oracle_bridge.batch_readings import BatchReadings
from oracle_bridge.bridge import Bridge
from oracle_bridge.config import BridgeSettings
from oracle_bridge.contracts import ComplianceRulesView
from oracle_bridge.errors import BrokerUnavailable
from oracle_bridge.rules import Rule
from oracle_bridge.sources.mqtt import MqttSource
from provenance.desks import epcis_capture, quality_desk
from provenance.follower_process import FollowerProcess
from provenance.node_figures import NodeFigures
from provenance.process import tune_collector

log = logging.getLogger(__name__)


def calibration_check(settings: CredentialSettings) -> CredentialCalibrationCheck:
    """The bridge's calibration hook: certificates from the credential store of `settings`
    (the one `provenance credential` writes), verified against its node and deployment.

    Raises:
        ChainUnavailable, DeploymentError, ConfigurationError: with what to fix.
    """
    ledger = settings.ledger
    w3 = connect(ledger.rpc_url, timeout_s=ledger.rpc_timeout_s)
    deployment = Deployment.load(ledger.deployment_path)
    deployment.check_chain(w3)
    return CredentialCalibrationCheck(
        credential_store(settings),
        CredentialVerifier(w3, deployment, log_chunk_blocks=ledger.log_chunk_blocks),
    )


def credential_store(settings: CredentialSettings) -> CredentialStore:
    """The store `provenance credential` writes (PROVENANCE_CREDENTIAL_DATABASE_URL)."""
    engine = make_engine(
        settings.resolved_database_url, variable="PROVENANCE_CREDENTIAL_DATABASE_URL"
    )
    create_credential_tables(engine)
    return CredentialStore(engine)


def trail_anchoring(
    settings: ApiSettings, *, w3: Web3 | None = None, deployment: Deployment | None = None
) -> TrailAnchoring:
    """The access trail of `settings`' database, anchored with the organization's key
    (PROVENANCE_PRIVATE_KEY) on the node and deployment given, or those of the settings.

    Raises:
        ChainUnavailable, DeploymentError, ConfigurationError: with what to fix.
    """
    ledger: LedgerSettings = settings.ledger
    if w3 is None:
        w3 = connect(ledger.rpc_url, timeout_s=ledger.rpc_timeout_s)
    if deployment is None:
        deployment = Deployment.load(ledger.deployment_path)
        deployment.check_chain(w3)
    ledger.require_real_key(local_anvil=node_is_anvil(w3))
    sender = TransactionSender(
        w3,
        Account.from_key(ledger.private_key.get_secret_value()),
        receipt_timeout_s=ledger.receipt_timeout_s,
    )
    return TrailAnchoring(
        store=TrailStore(api_engine(settings)),
        client=AccessTrailClient(sender, deployment),
        first_block=deployment.deploy_block,
        chunk_blocks=ledger.log_chunk_blocks,
    )


def read_model_engine(ledger: LedgerSettings) -> Engine:
    """The read model at PROVENANCE_DATABASE_URL (the follower or `provenance index run`
    fills it, maybe later: until then lots are unknown, not errors), its tables created."""
    engine = make_engine(ledger.resolved_database_url, sqlite_cache_mib=READ_CACHE_MIB)
    create_read_model(engine)
    return engine


def interrupt_on_sigterm() -> None:
    """Make SIGTERM stop the process as Ctrl-C does, through `finally` blocks: uvicorn
    re-raises the signal that stopped it, and a start can be aborted the same way."""

    def interrupt(*_: object) -> NoReturn:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def read_model_follower(ledger: LedgerSettings, *, poll_s: float = 1.0) -> ReadModelFollower:
    """The indexer of the read model at `ledger`'s database, on its own connection to the
    node, ready to follow the chain.

    Raises:
        ChainUnavailable, DeploymentError, ConfigurationError: with what to fix.
    """
    w3 = connect(ledger.rpc_url, timeout_s=ledger.rpc_timeout_s)
    deployment = Deployment.load(ledger.deployment_path)
    deployment.check_chain(w3)
    engine = make_engine(ledger.resolved_database_url)
    create_read_model(engine)
    indexer = Indexer(
        w3,
        deployment,
        engine,
        confirmations=ledger.confirmations,
        chunk_blocks=ledger.log_chunk_blocks,
    )
    return ReadModelFollower(indexer, poll_s=poll_s)


def batch_rule(lots: ReadModelLots, rules: ComplianceRulesView) -> Callable[[bytes], Rule | None]:
    """The cold-chain rule of a batch's product class, the class read from the read model
    and its rule from the chain; None for a batch the read model lacks or a class without one."""

    def rule_of(batch_id: bytes) -> Rule | None:
        try:
            product_class = lots.batch("0x" + batch_id.hex()).batch.product_class
        except UnknownObject:
            return None
        found = rules.rule(bytes.fromhex(product_class[2:]))
        return found[0] if found else None

    return rule_of


def listening_socket(host: str, port: int, *, option: str = "--http-port") -> socket.socket:
    """A socket bound to host:port, taken before anything slow starts so a port in use is
    the first thing an operator hears of.

    Raises:
        ConfigurationError: the address cannot be bound.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        # With its protocol named (IPPROTO_TCP), asyncio sets TCP_NODELAY on the connections
        # it accepts; with 0 it does not, and every keep-alive answer after the first waited
        # ~40 ms for the client's delayed ACK (Nagle).
        sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); pass another {option}"
        ) from None
    return sock


@dataclass
class MemberNode:
    """A member node: the API app and its server; the bridge with its ingress (HTTP through
    the app, MQTT if asked) unless it runs without one; the read model kept current if asked.
    `embedded_dev_chain` marks a node on the local anvil `provenance serve` runs itself, whose
    development keys and tokens exist nowhere else."""

    server: uvicorn.Server
    bridge: Bridge | None = None
    mqtt: MqttSource | None = None
    # False: a broker that does not answer leaves the node on HTTP ingress only.
    mqtt_required: bool = True
    listening: list[socket.socket] = field(default_factory=list)
    trail_schedule: TrailAnchorSchedule | None = None
    follower: ReadModelFollower | FollowerProcess | None = None
    embedded_dev_chain: bool = False

    @classmethod
    def build(
        cls,
        bridge_settings: BridgeSettings,
        *,
        listening: socket.socket,
        bind: str,
        mqtt_client_id: str | None,
        mqtt_required: bool = True,
        with_bridge: bool = True,
        follow_chain: bool = False,
        embedded_dev_chain: bool = False,
    ) -> MemberNode:
        """Wire a node from the three packages' settings (the ledger's those of
        `bridge_settings`), serving on `listening` (bound to `bind`, host:port as the operator
        wrote it); `mqtt_client_id` None: no MQTT; `with_bridge` False: no bridge, no reading
        ingress; `follow_chain`: keep the read model current.

        Raises:
            ConfigurationError, DeploymentError, ChainUnavailable: with what to fix; nothing
            is left running.
        """
        ledger = bridge_settings.ledger
        api_settings = ApiSettings(ledger=ledger)
        bridge = None
        if with_bridge:
            bridge = Bridge.from_settings(
                bridge_settings, calibration=calibration_check(CredentialSettings(ledger=ledger))
            )
            w3, deployment = bridge.w3, bridge.deployment
        else:
            w3 = connect(ledger.rpc_url, timeout_s=ledger.rpc_timeout_s)
            deployment = Deployment.load(ledger.deployment_path)
            deployment.check_chain(w3)
        try:
            local_anvil = node_is_anvil(w3)
            domain = api_settings.auditor_domain(bind=bind, local_anvil=local_anvil)
            # The schedule anchors with the organization's key, so only it asks for one.
            schedule = None
            if api_settings.trail_anchor_interval_s > 0:
                schedule = TrailAnchorSchedule(
                    trail_anchoring(api_settings, w3=w3, deployment=deployment),
                    interval_s=api_settings.trail_anchor_interval_s,
                )
            follower = None
            if follow_chain:
                # Built here once so what is wrong is said now; the process builds its own.
                read_model_follower(ledger).indexer.engine.dispose()
                follower = FollowerProcess(ledger)
            engine = api_engine(api_settings)
            read_model = read_model_engine(ledger)
            desk = None
            if api_settings.quality_writes:
                desk = quality_desk(
                    api_settings, w3=w3, deployment=deployment, dev_chain=embedded_dev_chain
                )
            lots = ReadModelLots(read_model)
            app = create_app(
                bridge,
                auditor_sessions=AuditorSessions(
                    domain=domain,
                    is_auditor=auditor_role_holder(w3, deployment),
                    session_ttl_s=api_settings.auditor_session_s,
                ),
                credential_verifier=CredentialVerifier(
                    w3,
                    deployment,
                    log_chunk_blocks=ledger.log_chunk_blocks,
                ),
                tokens=TokenStore(engine),
                standing=chain_standing(w3, deployment),
                trail_store=TrailStore(engine),
                public_base_url=api_settings.resolved_public_base_url(bind=bind),
                catalogue=ReadModelCatalogue(read_model),
                quarantine_records=ReadModelQuarantines(read_model),
                quality_desk=desk,
                credential_store=credential_store(CredentialSettings(ledger=ledger)),
                capture_desk=epcis_capture(
                    api_settings,
                    w3=w3,
                    deployment=deployment,
                    engine=engine,
                    # The embedded dev chain, or `bridge run` on a local anvil: a development node.
                    dev_chain=embedded_dev_chain or local_anvil,
                ),
                event_archive=EventArchive(read_model, w3, deployment),
                node_status=NodeFigures(
                    bridge_engine=bridge.engine if bridge is not None else None,
                    follower=follower,
                ),
                embedded_dev_chain=embedded_dev_chain,
                rate_limiter=RateLimiter(
                    per_s=api_settings.rate_per_s, burst=api_settings.rate_burst
                ),
                lot_reads=lots,
                scan_public_details=api_settings.scan_public_details,
                proof_limiter=RateLimiter(
                    per_s=api_settings.scan_proof_rate_per_s, burst=api_settings.scan_proof_burst
                ),
                readings_reader=None
                if bridge is None
                else BatchReadings(
                    bridge.engine,
                    w3=w3,
                    deployment=deployment,
                    rule_of=batch_rule(lots, ComplianceRulesView(w3, deployment)),
                ),
            )
        except Exception:
            if bridge is not None:
                bridge.close()
            raise
        mqtt = None
        if mqtt_client_id is not None and bridge is not None:
            mqtt = MqttSource(
                bridge.ingestor,
                host=bridge_settings.mqtt_host,
                port=bridge_settings.mqtt_port,
                topic_prefix=bridge_settings.mqtt_topic_prefix,
                shared_group=bridge_settings.mqtt_shared_group,
                client_id=mqtt_client_id,
            )
        # No logging config of uvicorn's own: its records go through the process's format.
        server = uvicorn.Server(uvicorn.Config(app, log_level="info", log_config=None))
        return cls(
            server=server,
            bridge=bridge,
            mqtt=mqtt,
            mqtt_required=mqtt_required,
            listening=[listening],
            trail_schedule=schedule,
            follower=follower,
            embedded_dev_chain=embedded_dev_chain,
        )

    def serve(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """Start anchoring, ingress and the read model's follower, serve until Ctrl-C or
        SIGTERM, then stop cleanly: the MQTT source first (no new readings), then the bridge
        (its work flushed), then the follower."""
        interrupt_on_sigterm()
        restore_collector = tune_collector()
        try:
            if self.bridge is not None:
                self.bridge.start()
            if self.trail_schedule is not None:
                self.trail_schedule.start()
            if self.follower is not None:
                self.follower.start()
            if self.mqtt is not None:
                self._start_mqtt()
            on_ready()
            self.server.run(sockets=self.listening)
        except KeyboardInterrupt:
            pass
        finally:
            log.info("node stopping: ingress, then the bridge's work, then the read model")
            if self.mqtt is not None:
                self.mqtt.stop()
            if self.trail_schedule is not None:
                self.trail_schedule.stop()
            if self.bridge is not None:
                self.bridge.close()
            if self.follower is not None:
                self.follower.stop()
            for sock in self.listening:
                sock.close()
            restore_collector()

    def _start_mqtt(self) -> None:
        assert self.mqtt is not None
        try:
            self.mqtt.start()
        except BrokerUnavailable as exc:
            if self.mqtt_required:
                raise BrokerUnavailable(f"{exc} (or run with --no-mqtt)") from None
            log.warning("%s; taking readings over HTTP only", exc)
            self.mqtt = None
