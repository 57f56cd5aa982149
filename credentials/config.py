"""Settings of the credential layer: `PROVENANCE_CREDENTIAL_*` variables, plus the ledger's
own `PROVENANCE_*` settings (RPC URL, state directory, deployment record) it shares."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger_client.config import LedgerSettings, refuse_moved_variables

# Variables of settings since moved here from the bridge's: refused, not silently ignored
# (credentials would be kept where the operator did not ask).
_MOVED_VARIABLES = {
    "PROVENANCE_BRIDGE_CREDENTIAL_DATABASE_URL": "PROVENANCE_CREDENTIAL_DATABASE_URL",
}


class CredentialSettings(BaseSettings):
    """Where issued credentials are kept and which chain they are anchored on."""

    model_config = SettingsConfigDict(
        env_prefix="PROVENANCE_CREDENTIAL_", extra="ignore", hide_input_in_errors=True
    )

    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    # The credential store: what `provenance credential` writes and the bridge's calibration
    # check reads. SQLite under the state directory by default, PostgreSQL by URL.
    database_url: str = ""

    @model_validator(mode="after")
    def _no_moved_variables(self) -> CredentialSettings:
        refuse_moved_variables(_MOVED_VARIABLES)
        return self

    @property
    def resolved_database_url(self) -> str:
        """The credential store's URL; `credentials.db` under the state directory by default."""
        return self.database_url or f"sqlite:///{self.ledger.state_dir / 'credentials.db'}"
