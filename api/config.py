"""Settings of the HTTP API: `PROVENANCE_API_*` variables."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger_client.config import LedgerSettings, refuse_moved_variables
from ledger_client.errors import ConfigurationError

# Variables of settings since moved here from the bridge's: refused, not silently ignored.
_MOVED_VARIABLES = {
    "PROVENANCE_BRIDGE_API_DOMAIN": "PROVENANCE_API_DOMAIN",
    "PROVENANCE_BRIDGE_AUDITOR_SESSION_S": "PROVENANCE_API_AUDITOR_SESSION_S",
}


# Each client address's budget of public proofs (each reads the chain): a burst, then a rate.
DEFAULT_PROOF_RATE_PER_S = 2.0
DEFAULT_PROOF_BURST = 30

_BASE_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?")


class ApiSettings(BaseSettings):
    """Who the API is for: the domain auditors sign for, how long their sessions last,
    where its bearer tokens and access trail are kept and how often the trail is anchored,
    and what an EPCIS capture is checked against and may carry."""

    model_config = SettingsConfigDict(
        env_prefix="PROVENANCE_API_", extra="ignore", hide_input_in_errors=True
    )

    # The domain auditors sign their presentations for: required unless the chain is a
    # local anvil (then the HTTP host:port), since it must differ between deployments.
    domain: str = ""
    # How long an auditor session lasts (a logout ends it sooner).
    auditor_session_s: float = Field(default=900.0, gt=0, le=86_400)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    # Bearer tokens and the access trail: SQLite under the state directory by default,
    # PostgreSQL by URL.
    database_url: str = ""
    # Seconds between the node's anchorings of the access trail's head on chain; 0: never
    # (then only `provenance trail anchor` anchors it).
    trail_anchor_interval_s: float = Field(default=3_600.0, ge=0, le=86_400 * 7)
    # Where the public reaches this node: QR codes and linksets name URLs on it. Unset: the
    # HTTP bind address, which only a local scan can reach.
    public_base_url: str = Field(default="", validation_alias="PROVENANCE_PUBLIC_BASE_URL")
    # Each bearer token's or session's budget: `rate_burst` requests at once, then
    # `rate_per_s` a second (429 with Retry-After beyond).
    rate_per_s: float = Field(default=50.0, gt=0, le=100_000)
    rate_burst: int = Field(default=200, ge=1, le=1_000_000)

    # Whether everyone scanning a lot sees each step's event record and the raw readings;
    # false: only a bearer token of this API shows them (the public sees the status, the
    # steps — what, when, which organization —, the cold chain's verdict and credentials).
    scan_public_details: bool = False
    # Each client address's budget of public proofs on scan pages (each reads the chain).
    scan_proof_rate_per_s: float = Field(default=DEFAULT_PROOF_RATE_PER_S, gt=0, le=10_000)
    scan_proof_burst: int = Field(default=DEFAULT_PROOF_BURST, ge=1, le=100_000)

    @field_validator("public_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not _BASE_URL.fullmatch(value):
            raise ValueError(
                "must be an http(s) URL with no path, query or trailing slash, e.g. "
                "https://scan.example.org"
            )
        return value

    # Whether the organization's QUALITY users acknowledge excursions and release batches
    # through this node, which then signs with the organization's key; false (with the
    # trail's anchoring off) runs a node without that key.
    quality_writes: bool = True
    # GS1's official EPCIS 2.0 JSON Schema folder (EPCIS-JSON-Schema-root.json and the files
    # it $refs); captured documents are checked against it too when set.
    epcis_schema_dir: Path | None = None
    # What one `POST /api/v1/capture` may carry; beyond either it is refused with 413.
    capture_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1_024, le=64 * 1024 * 1024)
    capture_max_events: int = Field(default=1_000, ge=1, le=100_000)

    @model_validator(mode="after")
    def _no_moved_variables(self) -> ApiSettings:
        refuse_moved_variables(_MOVED_VARIABLES)
        return self

    @property
    def resolved_database_url(self) -> str:
        """The token and trail database's URL; `api.db` under the state directory by default."""
        return self.database_url or f"sqlite:///{self.ledger.state_dir / 'api.db'}"

    def resolved_public_base_url(self, *, bind: str) -> str:
        """PROVENANCE_PUBLIC_BASE_URL, or `http://{bind}` (the HTTP host:port) when unset."""
        return self.public_base_url or f"http://{bind}"

    def auditor_domain(self, *, bind: str, local_anvil: bool) -> str:
        """The domain auditors sign their presentations for: PROVENANCE_API_DOMAIN, or
        `bind` (the HTTP host:port) when unset and the node is a local anvil.

        Raises:
            ConfigurationError: unset on any other chain.
        """
        if self.domain:
            return self.domain
        if local_anvil:
            return bind
        raise ConfigurationError(
            "PROVENANCE_API_DOMAIN is not set: set it to the host name auditors reach"
            " this API at (e.g. audit.example.org); only a local anvil defaults to host:port"
        )
