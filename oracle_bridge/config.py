"""Settings of the oracle bridge: `PROVENANCE_BRIDGE_*` variables, plus the ledger's own
`PROVENANCE_*` settings (RPC URL, state directory, deployment record) it shares."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger_client.config import LedgerSettings, refuse_moved_variables, require_private_key
from ledger_client.keys import ANVIL_DEV_KEYS, account_key

# anvil's fifth development key: the embedded default's oracle, refused on any other node.
ANVIL_ORACLE_KEY = ANVIL_DEV_KEYS[4]
# Variables of settings since renamed: refused, not silently ignored (a bridge would run
# without what its operator asked for).
_RENAMED_VARIABLES = {
    "PROVENANCE_BRIDGE_SCREENING_WORKERS": "PROVENANCE_BRIDGE_WORKERS (worker processes)",
    # Settings of the API and the credential store, each now its package's own.
    "PROVENANCE_BRIDGE_API_DOMAIN": "PROVENANCE_API_DOMAIN",
    "PROVENANCE_BRIDGE_AUDITOR_SESSION_S": "PROVENANCE_API_AUDITOR_SESSION_S",
    "PROVENANCE_BRIDGE_CREDENTIAL_DATABASE_URL": "PROVENANCE_CREDENTIAL_DATABASE_URL",
}
# Bytes of one signed reading at most (a compact one is ~360), over MQTT and HTTP alike.
DEFAULT_MAX_MESSAGE_BYTES = 4096
# One HTTP request: 1 MiB holds ~2,900 compact signed readings.
DEFAULT_HTTP_MAX_BODY_BYTES = 1 << 20
# Readings in one HTTP request: never binds on 1 MiB of real readings (that needs items of
# under 210 bytes), but bounds the work of a body of tiny junk items (`[0,0,…]` is 524,287
# items in 1 MiB; 150,000 `{}` fit) to what 5,000 dead letters cost. 10x the simulator's and
# the bench's batch of 500.
DEFAULT_HTTP_MAX_READINGS = 5_000


class BridgeSettings(BaseSettings):
    """How the bridge ingests, batches and submits readings."""

    # A refused setting's value is never echoed: it may be a key.
    model_config = SettingsConfigDict(
        env_prefix="PROVENANCE_BRIDGE_", extra="ignore", hide_input_in_errors=True
    )

    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    # The bridge's own database (inbox, outboxes, dead letters); SQLite under the state
    # directory by default, PostgreSQL by URL.
    database_url: str = ""
    # The account holding ORACLE_ROLE that anchors and submits readings.
    oracle_private_key: SecretStr = SecretStr(ANVIL_ORACLE_KEY)

    # A reading over this many bytes is dead-lettered (MQTT) or refuses its request (HTTP 413).
    max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, ge=256)
    # `POST /api/v1/readings` answers 413 to a body over this many bytes or readings.
    http_max_body_bytes: int = Field(default=DEFAULT_HTTP_MAX_BODY_BYTES, ge=1024)
    http_max_readings: int = Field(default=DEFAULT_HTTP_MAX_READINGS, ge=1)
    max_future_skew_s: int = Field(default=300, ge=0)
    window_max_readings: int = Field(default=1000, ge=1, le=10_000)
    window_max_age_s: float = Field(default=5.0, ge=0)
    # A device quiet this long closes its window early if it holds at least
    # `window_idle_min_readings` contiguous readings (a burst); 0 turns this off. 80: an
    # anchoring's ~26,000 gas of fixed cost over 80+ readings of 220-280 gas each stays
    # near 600 gas a reading, so early closing never makes anchoring dear.
    window_idle_s: float = Field(default=0.25, ge=0)
    window_idle_min_readings: int = Field(default=80, ge=1, le=10_000)
    # Readings per submitReadings transaction, kept well under the per-transaction gas cap.
    submission_max_readings: int = Field(default=100, ge=1, le=200)
    # Worker processes that draft anchoring windows (and screen large batches where the C
    # hot path is missing); 0: all in the bridge's process. A busy bridge: its cores.
    workers: int = Field(default=0, ge=0, le=64)
    # How long a device's registry entry and a batch's rule are trusted without re-reading.
    policy_cache_s: float = Field(default=2.0, ge=0)
    poll_interval_s: float = Field(default=0.2, gt=0)
    # Instances sharing a database: the one holding the lease sends; another takes over
    # this long after the holder last renewed it (a clean stop gives it up at once).
    submitter_lease_s: float = Field(default=10.0, gt=0)
    # Names this instance in the lease (default: host and oracle address).
    instance_name: str = ""
    chain_backoff_min_s: float = Field(default=0.5, gt=0)
    chain_backoff_max_s: float = Field(default=30.0, gt=0)

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_topic_prefix: str = "provenance/readings"
    mqtt_shared_group: str = "provenance-bridge"

    @field_validator("oracle_private_key")
    @classmethod
    def _account_key(cls, value: SecretStr) -> SecretStr:
        return SecretStr(
            account_key(value.get_secret_value(), variable="PROVENANCE_BRIDGE_ORACLE_PRIVATE_KEY")
        )

    @field_validator("mqtt_topic_prefix")
    @classmethod
    def _topic_prefix(cls, value: str) -> str:
        if not value or value.endswith("/") or any(c in value for c in "+#"):
            raise ValueError("the MQTT topic prefix is a topic without wildcards or a final '/'")
        return value

    @model_validator(mode="after")
    def _no_renamed_variables(self) -> BridgeSettings:
        refuse_moved_variables(_RENAMED_VARIABLES)
        return self

    @model_validator(mode="after")
    def _backoff_bounds(self) -> BridgeSettings:
        if self.chain_backoff_min_s > self.chain_backoff_max_s:
            raise ValueError("PROVENANCE_BRIDGE_CHAIN_BACKOFF_MIN_S exceeds ..._MAX_S")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The bridge database's URL; `bridge.db` under the state directory by default."""
        return self.database_url or f"sqlite:///{self.ledger.state_dir / 'bridge.db'}"

    def require_real_key(self, *, local_anvil: bool) -> None:
        """Refuse anvil's ten public development keys as the oracle's unless the node is a
        local anvil (`ledger_client.chain.node_is_anvil`).

        Raises:
            ConfigurationError: naming the variable, never the key.
        """
        require_private_key(
            self.oracle_private_key,
            variable="PROVENANCE_BRIDGE_ORACLE_PRIVATE_KEY",
            local_anvil=local_anvil,
            account="the bridge's ORACLE account",
        )
