"""A member node's wiring: the one place that builds a `Bridge`, its ingress, the API app
(bearer tokens, auditor sessions, the access trail and its anchoring schedule, the read
model's lots and the bridge's readings), the
credential verifier and the calibration hook, and serves them with uvicorn.

Each lower layer defines what it needs as a port (the bridge's `CalibrationCheck`, the
API's auditor-role check); this module builds the implementations and hands them in.
`provenance bridge run` runs a node; `provenance serve` will.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn
from eth_account import Account
from web3 import Web3

from api.app import create_app
from api.auditor_sessions import AuditorSessions, auditor_role_holder
from api.config import ApiSettings
from api.principals import chain_standing
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
from ledger_client.errors import ConfigurationError
from ledger_client.indexer.lots import READ_CACHE_MIB, ReadModelLots
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
from provenance.process import tune_collector


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
    engine = make_engine(
        settings.resolved_database_url, variable="PROVENANCE_CREDENTIAL_DATABASE_URL"
    )
    create_credential_tables(engine)
    return CredentialCalibrationCheck(
        CredentialStore(engine),
        CredentialVerifier(w3, deployment, log_chunk_blocks=ledger.log_chunk_blocks),
    )


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


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, taken before anything slow starts so a port in use is
    the first thing an operator hears of.

    Raises:
        ConfigurationError: the address cannot be bound.
    """
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); pass another --http-port"
        ) from None
    return sock


@dataclass
class BridgeNode:
    """A bridge with its ingress (HTTP through the API app, MQTT if asked) and its server."""

    bridge: Bridge
    server: uvicorn.Server
    mqtt: MqttSource | None = None
    listening: list[socket.socket] = field(default_factory=list)
    trail_schedule: TrailAnchorSchedule | None = None

    @classmethod
    def build(
        cls,
        bridge_settings: BridgeSettings,
        *,
        listening: socket.socket,
        bind: str,
        mqtt_client_id: str | None,
    ) -> BridgeNode:
        """Wire a node from the three packages' settings, serving on `listening` (bound to
        `bind`, host:port as the operator wrote it); `mqtt_client_id` None: no MQTT.

        Raises:
            ConfigurationError, DeploymentError, ChainUnavailable: with what to fix; nothing
            is left running.
        """
        api_settings = ApiSettings()
        credential_settings = CredentialSettings()
        bridge = Bridge.from_settings(
            bridge_settings, calibration=calibration_check(credential_settings)
        )
        try:
            domain = api_settings.auditor_domain(bind=bind, local_anvil=node_is_anvil(bridge.w3))
            # The schedule anchors with the organization's key, so only it asks for one.
            schedule = None
            if api_settings.trail_anchor_interval_s > 0:
                schedule = TrailAnchorSchedule(
                    trail_anchoring(api_settings, w3=bridge.w3, deployment=bridge.deployment),
                    interval_s=api_settings.trail_anchor_interval_s,
                )
            engine = api_engine(api_settings)
            read_model = make_engine(
                bridge_settings.ledger.resolved_database_url, sqlite_cache_mib=READ_CACHE_MIB
            )
            # An indexer fills it, maybe later: until then lots are unknown, not errors.
            create_read_model(read_model)
            lots = ReadModelLots(read_model)
            app = create_app(
                bridge,
                auditor_sessions=AuditorSessions(
                    domain=domain,
                    is_auditor=auditor_role_holder(bridge.w3, bridge.deployment),
                    session_ttl_s=api_settings.auditor_session_s,
                ),
                credential_verifier=CredentialVerifier(
                    bridge.w3,
                    bridge.deployment,
                    log_chunk_blocks=bridge_settings.ledger.log_chunk_blocks,
                ),
                tokens=TokenStore(engine),
                standing=chain_standing(bridge.w3, bridge.deployment),
                trail_store=TrailStore(engine),
                lot_reads=lots,
                readings_reader=BatchReadings(
                    bridge.engine,
                    w3=bridge.w3,
                    deployment=bridge.deployment,
                    rule_of=batch_rule(lots, ComplianceRulesView(bridge.w3, bridge.deployment)),
                ),
            )
        except Exception:
            bridge.close()
            raise
        mqtt = None
        if mqtt_client_id is not None:
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
            bridge=bridge,
            server=server,
            mqtt=mqtt,
            listening=[listening],
            trail_schedule=schedule,
        )

    def serve(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """Start anchoring and ingress, serve until Ctrl-C or SIGTERM, then stop cleanly:
        the MQTT source first (no new readings), then the bridge (its work flushed)."""
        # uvicorn re-raises the signal that stopped it: let SIGTERM end here, through `finally`.
        signal.signal(signal.SIGTERM, lambda *_: None)
        restore_collector = tune_collector()
        self.bridge.start()
        if self.trail_schedule is not None:
            self.trail_schedule.start()
        try:
            if self.mqtt is not None:
                try:
                    self.mqtt.start()
                except BrokerUnavailable as exc:
                    raise BrokerUnavailable(f"{exc} (or run with --no-mqtt)") from None
            on_ready()
            self.server.run(sockets=self.listening)
        except KeyboardInterrupt:
            pass
        finally:
            if self.mqtt is not None:
                self.mqtt.stop()
            if self.trail_schedule is not None:
                self.trail_schedule.stop()
            self.bridge.close()
            for sock in self.listening:
                sock.close()
            restore_collector()
