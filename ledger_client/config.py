"""Settings of the ledger client, from `PROVENANCE_*` environment variables."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger_client.errors import ConfigurationError

# anvil's first well-known development key: fine for the embedded default,
# refused anywhere else (see `require_real_key`).
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
REPO_ROOT = Path(__file__).resolve().parents[1]


class LedgerSettings(BaseSettings):
    """Where the chain, the read model and the keys are."""

    model_config = SettingsConfigDict(env_prefix="PROVENANCE_", extra="ignore")

    rpc_url: str = "http://127.0.0.1:8545"
    database_url: str = ""
    state_dir: Path = Path(".provenance")
    private_key: str = Field(default=ANVIL_DEV_KEY, repr=False)
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
    def _hex_key(cls, value: str) -> str:
        raw = value[2:] if value.startswith("0x") else value
        if len(raw) != 64 or any(c not in "0123456789abcdefABCDEF" for c in raw):
            raise ValueError("PROVENANCE_PRIVATE_KEY must be 32 bytes of hex")
        return "0x" + raw.lower()

    @cached_property
    def resolved_database_url(self) -> str:
        """The read model's URL; SQLite under the state directory by default."""
        return self.database_url or f"sqlite:///{self.state_dir / 'read_model.db'}"

    @property
    def deployment_path(self) -> Path:
        return self.state_dir / "deployment.json"

    def require_real_key(self, chain_id: int) -> None:
        """Refuse anvil's published development key on any chain but anvil's."""
        if self.private_key == ANVIL_DEV_KEY and chain_id != 31337:
            raise ConfigurationError(
                f"PROVENANCE_PRIVATE_KEY is anvil's public development key but chain {chain_id} "
                "is not a local anvil: set the key of your organization's account"
            )
