"""Settings of the ledger client, from `PROVENANCE_*` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger_client.errors import ConfigurationError
from ledger_client.keys import ANVIL_DEV_KEYS, account_key, anvil_dev_account

# anvil's first development key: fine for the embedded default, refused anywhere else (see
# `require_real_key`).
ANVIL_DEV_KEY = ANVIL_DEV_KEYS[0]
REPO_ROOT = Path(__file__).resolve().parents[1]


class LedgerSettings(BaseSettings):
    """Where the chain, the read model and the keys are."""

    # A refused setting's value is never echoed: it may be a key.
    model_config = SettingsConfigDict(
        env_prefix="PROVENANCE_", extra="ignore", hide_input_in_errors=True
    )

    rpc_url: str = "http://127.0.0.1:8545"
    database_url: str = ""
    state_dir: Path = Path(".provenance")
    private_key: SecretStr = SecretStr(ANVIL_DEV_KEY)
    confirmations: int = Field(default=0, ge=0)
    log_chunk_blocks: int = Field(default=2_000, ge=1)
    receipt_timeout_s: float = Field(default=120.0, gt=0)
    rpc_timeout_s: float = Field(default=30.0, gt=0)
    # Kept below geth's and Besu's 128 KiB transaction size limit.
    max_tx_bytes: int = Field(default=120_000, ge=4_096)
    # Below the EIP-7825 cap of 2**24 gas per transaction.
    max_tx_gas: int = Field(default=15_000_000, ge=100_000)

    @field_validator("private_key")
    @classmethod
    def _account_key(cls, value: SecretStr) -> SecretStr:
        return SecretStr(account_key(value.get_secret_value(), variable="PROVENANCE_PRIVATE_KEY"))

    @cached_property
    def resolved_database_url(self) -> str:
        """The read model's URL; SQLite under the state directory by default."""
        return self.database_url or f"sqlite:///{self.state_dir / 'read_model.db'}"

    @property
    def deployment_path(self) -> Path:
        return self.state_dir / "deployment.json"

    def require_real_key(self, *, local_anvil: bool) -> None:
        """Refuse anvil's ten public development keys unless the node is a local anvil
        (`ledger_client.chain.node_is_anvil`).

        Raises:
            ConfigurationError: naming the variable, never the key.
        """
        require_private_key(
            self.private_key,
            variable="PROVENANCE_PRIVATE_KEY",
            local_anvil=local_anvil,
            account="your organization's account",
        )


def require_private_key(key: SecretStr, *, variable: str, local_anvil: bool, account: str) -> None:
    """Refuse `key` if it is one of anvil's public development keys and the node is not a
    local anvil.

    Raises:
        ConfigurationError: naming `variable` and the development account, never the key.
    """
    number = anvil_dev_account(key.get_secret_value())
    if number is not None and not local_anvil:
        raise ConfigurationError(
            f"{variable} is anvil's public development key of account {number} (mnemonic "
            f'"test test ... junk") but the node is not a local anvil: set the key of {account}'
        )


def settings_problem(error: ValidationError) -> str:
    """The first invalid setting of a settings class (`LedgerSettings`, `BridgeSettings`, ...),
    named by its environment variable; a check of the settings as a whole names its own."""
    prefix = _env_prefix(error.title)
    first = error.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    if not first["loc"]:
        return message
    return f"{prefix}{'_'.join(str(part) for part in first['loc']).upper()}: {message}"


def _env_prefix(title: str) -> str:
    """The environment prefix of the settings class named `title` (any package's)."""
    pending: list[type[BaseSettings]] = list(BaseSettings.__subclasses__())
    while pending:
        settings = pending.pop()
        if settings.__name__ == title:
            return str(settings.model_config.get("env_prefix", ""))
        pending.extend(settings.__subclasses__())
    return "PROVENANCE_"


def refuse_moved_variables(moved: Mapping[str, str]) -> None:
    """Refuse each set environment variable of `moved` (old name → new name), naming its
    new name: a setting silently ignored would leave a service running without what its
    operator asked for.

    Raises:
        ValueError: inside a settings validator, which pydantic reports as the settings'.
    """
    for old, new in moved.items():
        if old in os.environ:
            raise ValueError(f"{old} is now {new}: rename it")
