"""Settings of the HTTP API: `PROVENANCE_API_*` variables."""

from __future__ import annotations

import os

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger_client.errors import ConfigurationError

# Variables of settings since moved here from the bridge's: refused, not silently ignored.
_MOVED_VARIABLES = {
    "PROVENANCE_BRIDGE_API_DOMAIN": "PROVENANCE_API_DOMAIN",
    "PROVENANCE_BRIDGE_AUDITOR_SESSION_S": "PROVENANCE_API_AUDITOR_SESSION_S",
}


class ApiSettings(BaseSettings):
    """Who the API is for: the domain auditors sign for, how long their sessions last."""

    model_config = SettingsConfigDict(
        env_prefix="PROVENANCE_API_", extra="ignore", hide_input_in_errors=True
    )

    # The domain auditors sign their presentations for: required unless the chain is a
    # local anvil (then the HTTP host:port), since it must differ between deployments.
    domain: str = ""
    # How long an auditor session lasts (a logout ends it sooner).
    auditor_session_s: float = Field(default=900.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _no_moved_variables(self) -> ApiSettings:
        for old, new in _MOVED_VARIABLES.items():
            if old in os.environ:
                raise ValueError(f"{old} is now {new}: rename it")
        return self

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
